"""Build a .difypkg that a real Dify installs, without the Go `dify` CLI.

`dify-devkit package [PLUGIN_DIR] [-o dist/]` does what `dify plugin package`
does (cmd/commandline/plugin/package.go, pkg/plugin_packager/) and a little more:

- refuses to pack a plugin `dify-devkit check` finds problems in;
- takes the files of the plugin directory minus `.difyignore`, or minus
  `.gitignore` when there is no `.difyignore` (the CLI's fallback; never both),
  with real gitignore semantics, and always minus `.git/`, `.devkit-state/` and the
  output directory;
- adds a `requirements.txt` exported from `uv.lock` (the CLI's exact `uv export`
  arguments) when the tree has pyproject.toml and uv.lock but no requirements.txt;
- refuses to leave out a file the plugin needs at run time (an ignore rule that
  drops an endpoint source would otherwise surface only after install);
- refuses to exceed Dify's 50 MiB cap, naming the largest files;
- writes `<out>/<name>-<version>.difypkg` deterministically (see _difypkg).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from dify_plugin_devkit import _difypkg as difypkg
from dify_plugin_devkit._declarations import CheckReport, inspect_plugin
from dify_plugin_devkit._declarations.packaging import DEPENDENCY_FILES
from dify_plugin_devkit._difypkg import MAX_PACKAGE_BYTES
from dify_plugin_devkit._errors import (
    CheckFailedError,
    ExcludedFileError,
    PackageError,
    PackageTooLargeError,
    RequirementsExportError,
)

#: First one present wins, as in the CLI (pkg/plugin_packager/decoder/fs.go Walk).
IGNORE_FILES = (".difyignore", ".gitignore")
#: Never packed, whatever the ignore file says.
#: `.git`: a directory, or a file in a worktree or submodule; `.devkit-state/`: the
#: devkit's default state folder (a plugin's stored values and uploaded files).
ALWAYS_EXCLUDED = (".git", ".devkit-state/")
REQUIREMENTS = "requirements.txt"
#: packager.go exportRequirementsFromUv, argument for argument.
UV_EXPORT_ARGS = (
    "export",
    "--frozen",
    "--format",
    "requirements.txt",
    "--no-group",
    "dev",
    "--no-emit-project",
    "--no-hashes",
    "--no-header",
    "--no-annotate",
)
UV_EXPORT_TIMEOUT_S = 120

Log = Callable[[str], None]


@dataclass(frozen=True)
class IgnoreRules:
    """The ignore file in force (if any) and its compiled gitignore patterns."""

    source: str | None
    spec: pathspec.GitIgnoreSpec
    always: pathspec.GitIgnoreSpec
    reincludes: bool = False  # has `!pattern` lines, which the Go CLI does not honour

    def excluded_by(self, rel: str) -> str | None:
        """The rule that excludes `rel` (dirs end in "/"), or None when it is packed."""
        if self.always.match_file(rel):
            return "always excluded"
        result = self.spec.check_file(rel)
        if result.include and result.index is not None:
            return f"{self.source} pattern {self.spec.patterns[result.index].pattern!r}"
        return None


def load_ignore_rules(plugin_dir: Path, extra: Sequence[str] = ()) -> IgnoreRules:
    """`.difyignore`, else `.gitignore`, plus ALWAYS_EXCLUDED and `extra` patterns."""
    always = pathspec.GitIgnoreSpec.from_lines([*ALWAYS_EXCLUDED, *extra])
    for name in IGNORE_FILES:
        path = plugin_dir / name
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            reincludes = any(line.lstrip().startswith("!") for line in lines)
            return IgnoreRules(name, pathspec.GitIgnoreSpec.from_lines(lines), always, reincludes)
    return IgnoreRules(None, pathspec.GitIgnoreSpec.from_lines([]), always)


def collect_files(plugin_dir: Path, rules: IgnoreRules) -> list[str]:
    """Posix paths of the files to pack, sorted. Excluded directories are not entered,
    so (as in git) a file inside one cannot be re-included."""
    found: list[str] = []
    for current, dirs, files in os.walk(plugin_dir):
        base = Path(current).relative_to(plugin_dir).as_posix()
        prefix = "" if base == "." else f"{base}/"
        kept = []
        for name in sorted(dirs):
            rel = f"{prefix}{name}"
            if rules.excluded_by(f"{rel}/"):
                continue
            if (Path(current) / name).is_symlink():
                raise PackageError(
                    f"{rel}: is a symlink to a directory; a .difypkg cannot hold it — "
                    "replace it with a real directory or add it to the ignore file"
                )
            kept.append(name)
        dirs[:] = kept
        found.extend(f"{prefix}{name}" for name in files if not rules.excluded_by(f"{prefix}{name}"))
    return sorted(found)


def find_uv() -> list[str]:
    """The command that runs uv: $UV_PATH (as Dify's CLI honours), uv on PATH, else the
    uv that this package depends on (so packaging works wherever the devkit is installed)."""
    for candidate in (os.environ.get("UV_PATH"), shutil.which("uv")):
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return [candidate]
    try:
        from uv import find_uv_bin
    except ImportError:
        raise RequirementsExportError(
            "uv not found (needed to export requirements.txt from uv.lock) — install uv, set "
            "UV_PATH, or commit a requirements.txt"
        ) from None
    return [find_uv_bin()]


def export_requirements(plugin_dir: Path) -> bytes:
    """requirements.txt from uv.lock, as the CLI makes it (runtime deps only)."""
    command = [*find_uv(), *UV_EXPORT_ARGS]
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command,
            cwd=plugin_dir,
            capture_output=True,
            timeout=UV_EXPORT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RequirementsExportError(f"uv export failed: {exc}") from exc
    if done.returncode != 0:
        raise RequirementsExportError(
            f"uv export failed: {done.stderr.decode(errors='replace').strip()} — run "
            "`uv lock` so uv.lock matches pyproject.toml"
        )
    return done.stdout


def needs_generated_requirements(plugin_dir: Path) -> bool:
    """The CLI's rule: pyproject.toml and uv.lock on disk, no requirements.txt on disk
    (a Python runner is a given: the check accepts no other)."""
    return (
        not (plugin_dir / REQUIREMENTS).exists()
        and (plugin_dir / "pyproject.toml").is_file()
        and (plugin_dir / "uv.lock").is_file()
    )


def _require_runtime_files(files: set[str], report: CheckReport, rules: IgnoreRules) -> None:
    missing = sorted(report.files - files)
    if missing:
        detail = "; ".join(f"{rel} ({rules.excluded_by(rel) or 'not found'})" for rel in missing)
        raise ExcludedFileError(
            f"the package would lack files the plugin needs: {detail} — remove the rule from the ignore file"
        )
    if not files & set(DEPENDENCY_FILES):
        raise ExcludedFileError(
            "the package would have neither requirements.txt nor pyproject.toml, so Dify "
            "cannot install the plugin's dependencies — stop ignoring them"
        )


def _refuse_oversize(sizes: dict[str, int], limit: int) -> None:
    """The daemon's rule: the uncompressed sum may not exceed the cap (checked on
    sizes, before reading a forgotten .venv into memory)."""
    total = sum(sizes.values())
    if total <= limit:
        return
    largest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:5]
    listing = ", ".join(f"{rel} ({size} bytes)" for rel, size in largest)
    raise PackageTooLargeError(
        f"{total} bytes uncompressed is over Dify's {limit}-byte package cap; largest: "
        f"{listing} — add what the plugin does not need at run time to .difyignore"
    )


def build_package(
    plugin_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] = "dist",
    *,
    log: Log = print,
) -> Path:
    """Check, collect, pack and write `<out_dir>/<name>-<version>.difypkg`; return its path."""
    root = Path(plugin_dir).resolve()
    out = Path(out_dir).resolve()
    report = inspect_plugin(root)
    if report.problems:
        raise CheckFailedError(report.problems, Path(plugin_dir))
    extra = []
    if out != root and root in out.parents:
        extra.append(f"/{out.relative_to(root).as_posix()}/")
    rules = load_ignore_rules(root, extra)
    if rules.reincludes:
        log(
            f"note: {rules.source} re-includes with '!': honoured here, but the Dify CLI "
            "ignores '!' lines and would leave those files out"
        )
    files = collect_files(root, rules)
    generated: dict[str, bytes] = {}
    if needs_generated_requirements(root):
        generated[REQUIREMENTS] = export_requirements(root)
    _require_runtime_files({*files, *generated}, report, rules)
    sizes = {rel: (root / rel).stat().st_size for rel in files}
    _refuse_oversize(sizes | {rel: len(data) for rel, data in generated.items()}, MAX_PACKAGE_BYTES)
    contents = {rel: (root / rel).read_bytes() for rel in files} | generated
    if generated:
        log(f"generated {REQUIREMENTS} from uv.lock")
    data = difypkg.pack(contents.items())
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageTooLargeError(f"the package is {len(data)} bytes, over Dify's {MAX_PACKAGE_BYTES}-byte upload cap")
    for rel in sorted(contents):
        log(f"  {rel} ({len(contents[rel])} bytes)")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{report.name}-{report.version}.difypkg"
    target.write_bytes(data)
    log(f"wrote {target} ({len(data)} bytes, {len(contents)} files)")
    return target
