"""The plugin's own Python environment, built the way Dify's plugin daemon builds it.

Dify never runs a plugin with the interpreter of whoever wrote it: on install the
daemon (internal/core/local_runtime/setup_python_environment.go) creates `.venv`
with `uv venv .venv --python 3.12`, then, with `VIRTUAL_ENV` pointing at it,

- `uv sync --no-dev --frozen` when the package has pyproject.toml and uv.lock
  (`--frozen` is left out when PLUGIN_IGNORE_UV_LOCK=true, or without uv.lock);
- `uv pip install -r requirements.txt` when it has requirements.txt only
  (pyproject.toml wins when both exist: detectDependencyFileType);

and runs `python -m <entrypoint>` with `.venv/bin/python`. A plugin that imports a
module it never declared therefore starts on its author's machine and dies in Dify.
The devkit does the same, in a cache folder keyed by the hash of those files and the
manifest's Python version (`meta.runner.version`), so that a rebuild happens only
when they change. uv is never allowed to download an interpreter
(UV_PYTHON_DOWNLOADS=never): it is given a local one of the manifest's version.

The development venv of the plugin's own repository (the devkit runs from
`<plugin>/.venv`) is used instead when it already has every package of the runtime
set at the declared version: the plugin then runs as it would in Dify's environment,
plus dev tools it does not import. The output says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dify_plugin_devkit._declarations.problems import Problem
from dify_plugin_devkit._errors import DevkitError
from dify_plugin_devkit._package import UV_EXPORT_ARGS, find_uv

#: `--python` for every `run`/`check` when set (e.g. a suite whose venv has the plugin's packages).
PYTHON_ENV = "DIFY_DEVKIT_PYTHON"
#: Where built environments are kept (default: $XDG_CACHE_HOME/dify-devkit/envs).
CACHE_ENV = "DIFY_DEVKIT_CACHE"
#: The daemon's switch: sync without --frozen (uv resolves pyproject.toml again).
IGNORE_LOCK_ENV = "PLUGIN_IGNORE_UV_LOCK"
#: The daemon gives the install 10 minutes (installDependencies' context).
BUILD_TIMEOUT_S = 600
#: Marks a finished environment, as the daemon's `.venv/dify/plugin.json` does.
VALID_FLAG = Path("dify") / "plugin.json"

Log = Callable[[str], None]


class EnvironmentBuildError(DevkitError):
    """The plugin's environment could not be built; the message says which step and why."""

    code = "environment_build_failed"


@dataclass(frozen=True)
class PluginEnvironment:
    """The interpreter the plugin runs with, and how it was chosen."""

    python: str
    how: str  # one line for the console: where it comes from
    build_seconds: float | None = None  # set when it was built now


def dependency_kind(plugin_dir: Path, ignore_uv_lock: bool = False) -> tuple[str, tuple[str, ...]]:
    """('uv-frozen' | 'uv' | 'pip', the files it reads), as detectDependencyFileType picks."""
    if (plugin_dir / "pyproject.toml").is_file():
        if (plugin_dir / "uv.lock").is_file() and not ignore_uv_lock:
            return "uv-frozen", ("pyproject.toml", "uv.lock")
        return "uv", ("pyproject.toml",)
    if (plugin_dir / "requirements.txt").is_file():
        return "pip", ("requirements.txt",)
    raise EnvironmentBuildError(
        f"{plugin_dir}: neither pyproject.toml nor requirements.txt found — Dify cannot install "
        "the plugin's packages; add one of them"
    )


def install_command(kind: str) -> list[str]:
    """The daemon's install arguments for uv (prepareSyncArgs / preparePipArgs)."""
    if kind == "pip":
        return ["pip", "install", "-r", "requirements.txt"]
    return ["sync", "--no-dev", *(["--frozen"] if kind == "uv-frozen" else [])]


def ignore_uv_lock_from_env() -> bool:
    return os.environ.get(IGNORE_LOCK_ENV, "").strip().lower() in ("1", "true", "yes")


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "dify-devkit" / "envs"


def environment_key(plugin_dir: Path, kind: str, files: Sequence[str], version: str) -> str:
    digest = hashlib.sha256(f"{kind}\0python{version}\0".encode())
    for name in files:
        digest.update(name.encode() + b"\0" + (plugin_dir / name).read_bytes() + b"\0")
    return digest.hexdigest()[:20]


# --- a local interpreter of the manifest's version ------------------------------------


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - an interpreter path, fixed arguments
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(version: str) -> str:
    """A local interpreter of `version` ("3.12"), looked for as dev/bootstrap.sh does:
    this interpreter's base, PATH, pyenv, uv-managed ones, common prefixes, `uv python find`."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates: list[str] = []
    if here == version:
        candidates.append(getattr(sys, "_base_executable", sys.executable) or sys.executable)
    for name in (f"python{version}", "python3"):
        if found := shutil.which(name):
            candidates.append(found)
    home = Path.home()
    for pattern in (
        f"{os.environ.get('PYENV_ROOT', home / '.pyenv')}/versions/{version}*/bin/python{version}",
        f"{home}/.local/share/uv/python/cpython-{version}*/bin/python{version}",
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
        f"/opt/homebrew/bin/python{version}",
    ):
        candidates.extend(sorted(glob.glob(pattern), reverse=True))
    for candidate in dict.fromkeys(candidates):
        if os.access(candidate, os.X_OK) and _version_of(candidate) == version:
            return candidate
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        done = subprocess.run(  # noqa: S603 - uv with fixed arguments
            [*find_uv(), "python", "find", version], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        if done.returncode == 0 and _version_of(done.stdout.strip()) == version:
            return done.stdout.strip()
    raise EnvironmentBuildError(
        f"no local Python {version} found (the manifest's meta.runner.version; uv may not download "
        f"one here) — install python{version}, or pass --python /path/to/python{version}"
    )


# --- the plugin's own development venv ------------------------------------------------


def runtime_requirements(plugin_dir: Path, kind: str) -> str | None:
    """The packages Dify would install, as requirements lines (None: cannot tell offline)."""
    if kind == "pip":
        return (plugin_dir / "requirements.txt").read_text(encoding="utf-8")
    if kind != "uv-frozen":
        return None  # without a lock, what uv resolves today is not known in advance
    done = subprocess.run(  # noqa: S603 - uv with fixed arguments
        [*find_uv(), *UV_EXPORT_ARGS, "--no-emit-workspace"],
        cwd=plugin_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def provides(python: str, requirements: str) -> bool:
    """Whether `python`'s environment already has every requirement (uv's dry run, offline)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write(requirements)
    try:
        done = subprocess.run(  # noqa: S603 - uv with fixed arguments
            [*find_uv(), "pip", "install", "--dry-run", "--offline", "-r", handle.name, "--python", python],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
    finally:
        os.unlink(handle.name)
    return done.returncode == 0 and "Would make no changes" in done.stderr


def development_venv(plugin_dir: Path, kind: str, version: str) -> PluginEnvironment | None:
    """This interpreter, when it is the plugin's own `.venv` and has the runtime set."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = (plugin_dir / ".venv").resolve()
    if here != version or Path(sys.prefix).resolve() != venv:
        return None
    requirements = runtime_requirements(plugin_dir, kind)
    if requirements is None or not provides(sys.executable, requirements):
        return None
    count = sum(1 for line in requirements.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    source = "uv.lock" if kind == "uv-frozen" else "requirements.txt"
    how = (
        f"the development venv {venv} (it has all {count} packages of {source}'s runtime set "
        "at their declared versions, so Dify's environment is not built)"
    )
    return PluginEnvironment(sys.executable, how)


# --- building -------------------------------------------------------------------------


def _run_step(command: list[str], cwd: Path, env: dict[str, str], log: Log, step: str) -> None:
    log(f"  $ uv {' '.join(command[len(find_uv()) :])}")  # the step as the daemon runs it
    try:
        process = subprocess.Popen(  # noqa: S603 - uv with fixed arguments
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except OSError as exc:
        raise EnvironmentBuildError(f"{step} failed: {exc}") from exc
    if process.stdout is None:
        raise RuntimeError("uv was started without a stdout pipe")
    tail: list[str] = []
    watchdog = threading.Timer(BUILD_TIMEOUT_S, process.kill)  # the daemon's 10 minutes
    watchdog.start()
    try:
        for raw in process.stdout:  # uv's own progress, line by line
            if line := raw.rstrip():
                tail = [*tail[-19:], line]
                log(f"  {line}")
    finally:
        watchdog.cancel()
    if process.wait() != 0:
        raise EnvironmentBuildError(f"{step} failed (exit {process.returncode}):\n" + "\n".join(tail))


def build_environment(plugin_dir: Path, kind: str, files: Sequence[str], python: str, target: Path, log: Log) -> None:
    """`uv venv` + the daemon's install command, in `target` (a copy of the dependency files
    in `target/project`, so the plugin directory is never written to: without --frozen uv
    writes a new uv.lock)."""
    project = target / "project"
    project.mkdir(parents=True)
    for name in files:
        shutil.copy2(plugin_dir / name, project / name)
    venv = target / ".venv"
    env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "VIRTUAL_ENV": str(venv),
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_NO_PROGRESS": "1",
    }
    uv = find_uv()
    _run_step([*uv, "venv", str(venv), "--python", python], project, env, log, "uv venv")
    _run_step([*uv, *install_command(kind)], project, env, log, f"uv {' '.join(install_command(kind))}")
    flag = venv / VALID_FLAG
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.write_text(json.dumps({"timestamp": int(time.time())}))


def prepare_environment(
    plugin_dir: Path,
    version: str,
    *,
    python: str | None = None,
    ignore_uv_lock: bool | None = None,
    log: Log,
) -> PluginEnvironment:
    """The interpreter to run the plugin with: `python` (--python, or $DIFY_DEVKIT_PYTHON),
    else the plugin's development venv when it has the same packages, else the
    environment Dify would build (built now, or found in the cache)."""
    chosen = python or os.environ.get(PYTHON_ENV)
    if chosen:
        origin = "--python" if python else f"${PYTHON_ENV}"
        return PluginEnvironment(chosen, f"{chosen} (from {origin})")
    plugin_dir = plugin_dir.resolve()
    if ignore_uv_lock is None:
        ignore_uv_lock = ignore_uv_lock_from_env()
    kind, files = dependency_kind(plugin_dir, ignore_uv_lock)
    if (reused := development_venv(plugin_dir, kind, version)) is not None:
        return reused
    key = environment_key(plugin_dir, kind, files, version)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / key
    interpreter = target / ".venv" / "bin" / "python"
    command = " ".join(install_command(kind))
    with (root / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another devkit building the same one: wait for it
        if (target / ".venv" / VALID_FLAG).is_file() and interpreter.exists():
            return PluginEnvironment(str(interpreter), f"{target / '.venv'} (built earlier by `uv {command}`)")
        shutil.rmtree(target, ignore_errors=True)
        log(f"building the plugin's environment as Dify does (first time for these {' + '.join(files)}):")
        started = time.monotonic()
        try:
            build_environment(plugin_dir, kind, files, find_python(version), target, log)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        seconds = time.monotonic() - started
    log(f"environment ready in {seconds:.1f} s: {target / '.venv'}")
    return PluginEnvironment(str(interpreter), f"{target / '.venv'} (built by `uv {command}`)", seconds)


# --- importing the plugin in it -------------------------------------------------------

#: Runs in the plugin's environment (cwd = plugin root, as `python -m main`): imports each
#: module and writes what failed, with the plugin file and line that did the import.
_IMPORT_PROBE = r"""
import importlib, json, os, sys, traceback
root = os.getcwd()
sys.path.insert(0, root)
prefixes = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix)})
failed = []
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        where = None
        for frame in traceback.extract_tb(exc.__traceback__):
            path = os.path.realpath(frame.filename)
            if path.startswith(root + os.sep) and not path.startswith(prefixes):
                where = (os.path.relpath(path, root).replace(os.sep, "/"), frame.lineno)
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        failed.append({"module": name, "error": type(exc).__name__, "message": str(exc)[:300],
                       "missing": missing, "file": where and where[0], "line": where and where[1]})
with open(sys.argv[1], "w") as out:
    json.dump(failed, out)
"""
IMPORT_TIMEOUT_S = 120


def import_problems(
    plugin_dir: Path, python: str, modules: Sequence[str], entrypoint: str, source_of: str
) -> list[Problem]:
    """Import `modules` (the endpoint sources and what they import), then the entry point,
    with `python` in a fresh process, as the plugin process would on start; one Problem
    per failure, naming the plugin file and line and the module that is missing.
    `source_of` says where the environment's packages come from (for the fix)."""
    order = [m for m in modules if m != entrypoint] + [entrypoint]
    with tempfile.TemporaryDirectory(prefix="devkit-imports-") as work:
        result = Path(work) / "failed.json"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "INSTALL_METHOD": "local"}
        try:
            done = subprocess.run(  # noqa: S603 - the plugin's interpreter, fixed arguments
                [python, "-c", _IMPORT_PROBE, str(result), *order],
                cwd=plugin_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=IMPORT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return [
                Problem(
                    f"{entrypoint}.py",
                    "(import)",
                    f"importing the plugin did not finish in {IMPORT_TIMEOUT_S} s",
                    "do not block at import time (start work in Plugin.run or in the endpoint)",
                )
            ]
        except OSError as exc:
            raise EnvironmentBuildError(f"cannot run {python}: {exc}") from exc
        if not result.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise EnvironmentBuildError(f"{python} could not import the plugin:\n" + "\n".join(tail))
        failed = json.loads(result.read_text())
    problems: list[Problem] = []
    missing_seen: set[str] = set()
    for item in failed:
        module, missing = item["module"], item["missing"]
        rel = item["file"] or module.replace(".", "/") + ".py"
        if missing:
            if missing in missing_seen:
                continue  # the entry point failing on what a source already lacks
            missing_seen.add(missing)
            top = missing.split(".")[0]
            problems.append(
                Problem(
                    rel,
                    f"import {missing}",
                    f"module {missing!r} is not installed in the plugin's environment ({source_of}): "
                    "Dify's install would not have it either, and the plugin would not start",
                    f"declare the package that provides {top!r} in pyproject.toml (then `uv lock`) "
                    "or requirements.txt, or remove the import",
                    item["line"],
                )
            )
        elif module == entrypoint and problems:
            continue  # the entry point loads the sources: the cause is reported already
        else:
            problems.append(
                Problem(
                    rel,
                    f"import {module}",
                    f"importing it raised {item['error']}: {item['message']}",
                    "fix the error: Dify's plugin process would stop on it at start",
                    item["line"],
                )
            )
    return problems
