"""`run` and `check` build the plugin's environment as Dify's daemon does, and use it.

The daemon (internal/core/local_runtime/setup_python_environment.go) creates `.venv`
with `uv venv`, then runs `uv sync --no-dev --frozen` for pyproject.toml + uv.lock
(without --frozen under PLUGIN_IGNORE_UV_LOCK=true) or `uv pip install -r
requirements.txt`, and runs the plugin with that interpreter. The fixture plugins
`titled_uv` and `titled_pip` need one package this venv does not have
(`inflection`), so they start only from the environment the devkit built.

Building is the slow part: every test shares one cache folder (session scope), so
each fixture's environment is built once per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import TITLED_PIP_PLUGIN, TITLED_UV_PLUGIN

from dify_plugin_devkit._environment import (
    PYTHON_ENV,
    dependency_kind,
    install_command,
    prepare_environment,
)
from dify_plugin_devkit.testing import start_devkit


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plugin-envs")


@pytest.fixture
def environ(env_cache: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a developer who set nothing: no $DIFY_DEVKIT_PYTHON."""
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    monkeypatch.setenv("DIFY_DEVKIT_CACHE", str(env_cache))
    return dict(os.environ)


def devkit(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dify_plugin_devkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def has_module(python: str, module: str) -> bool:
    probe = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([python, "-c", probe], timeout=60, check=False).returncode == 0


@pytest.mark.parametrize(
    ("plugin", "command"),
    [(TITLED_UV_PLUGIN, "uv sync --no-dev --frozen"), (TITLED_PIP_PLUGIN, "uv pip install -r requirements.txt")],
    ids=["pyproject+uv.lock", "requirements.txt"],
)
def test_check_builds_the_environment_as_dify_does_and_imports_the_plugin_in_it(
    plugin: Path, command: str, environ: dict[str, str], tmp_path: Path
) -> None:
    checked = devkit("check", str(plugin), env=environ, cwd=tmp_path)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[-1] == "ok: titled_plugin 0.0.1: 1 endpoints, 0 settings"
    environment = next(line for line in lines if line.startswith("environment: "))
    assert f"`{command}`" in environment
    assert " s" in environment.rpartition("; ")[2]  # "built in N s", or "no build needed" once cached
    assert "imports: 2 modules import in it" in lines
    python = environment.removeprefix("environment: ").split(" (")[0] + "/bin/python"
    assert has_module(python, "inflection")
    assert not has_module(python, "pytest")  # nothing of the development setup


def test_first_build_shows_its_progress_and_the_next_run_reuses_it(
    environ: dict[str, str], tmp_path: Path, env_cache: Path
) -> None:
    plugin = tmp_path / "plugin"
    shutil.copytree(TITLED_UV_PLUGIN, plugin)
    (plugin / "pyproject.toml").write_text((plugin / "pyproject.toml").read_text() + "\n# changed\n")
    first = devkit("check", str(plugin), env=environ, cwd=tmp_path)  # new files: a new key
    again = devkit("check", str(plugin), env=environ, cwd=tmp_path)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "building the plugin's environment as Dify does" in first.stderr
    assert "$ uv sync --no-dev --frozen" in first.stderr
    assert "+ inflection==0.5.1" in first.stderr  # uv's own lines, as they come
    assert "built in " in first.stdout
    assert again.returncode == 0
    assert "building" not in again.stderr
    assert "no build needed" in again.stdout


def test_check_names_the_file_and_module_of_an_undeclared_import(environ: dict[str, str], tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    shutil.copytree(TITLED_UV_PLUGIN, plugin)
    source = plugin / "endpoints" / "title.py"
    # hypothesis is in the development venv, never declared by the plugin
    source.write_text(source.read_text().replace("import inflection\n", "import inflection\nimport hypothesis\n"))

    checked = devkit("check", str(plugin), env=environ, cwd=tmp_path)

    assert checked.returncode == 1
    problems = [line for line in checked.stdout.splitlines() if " — " in line]
    assert len(problems) == 1, checked.stdout
    assert problems[0].startswith(f"{plugin}/endpoints/title.py:6: import hypothesis: module 'hypothesis' is not")
    assert "declare the package that provides 'hypothesis' in pyproject.toml" in problems[0]
    assert "1 problem(s) found" in checked.stderr


def test_run_starts_the_plugin_in_its_own_environment(environ: dict[str, str], tmp_path: Path) -> None:
    running = start_devkit(TITLED_UV_PLUGIN, workdir=tmp_path, env=environ, ready_timeout=600)
    try:
        answer = httpx.get(f"{running.base_url}/e/devkit/title/hello_world_again", timeout=60)
    finally:
        running.stop()
    assert answer.status_code == 200, answer.text
    assert answer.text == "Hello World Again"  # inflection, which only that environment has
    assert "plugin environment: " in running.log_path.read_text()


def test_python_overrides_and_the_lock_can_be_ignored(environ: dict[str, str]) -> None:
    chosen = prepare_environment(TITLED_UV_PLUGIN, "3.12", python="/some/python", log=print)
    assert (chosen.python, chosen.build_seconds) == ("/some/python", None)
    assert "--python" in chosen.how
    assert dependency_kind(TITLED_UV_PLUGIN) == ("uv-frozen", ("pyproject.toml", "uv.lock"))
    assert dependency_kind(TITLED_UV_PLUGIN, ignore_uv_lock=True) == ("uv", ("pyproject.toml",))
    assert install_command("uv-frozen") == ["sync", "--no-dev", "--frozen"]
    assert install_command("uv") == ["sync", "--no-dev"]
    assert install_command("pip") == ["pip", "install", "-r", "requirements.txt"]
