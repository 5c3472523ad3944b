"""The .difypkg installs the two ways Dify's daemon installs a plugin, without the devkit.

The daemon unpacks the package, creates `.venv` with `uv venv`, then runs
`uv sync --no-dev --frozen` when the package holds pyproject.toml and uv.lock, or
`uv pip install -r requirements.txt` when an index mirror is configured
(internal/core/local_runtime/setup_python_environment.go). With PLUGIN_IGNORE_UV_LOCK=true
(and in daemons of early 2026) the sync runs without --frozen, resolving again. The
package has no `devkit/` folder while pyproject.toml names it as a workspace member:
no way may trip over that. Then the plugin must start from that
environment and answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from uv import find_uv_bin

from dify_plugin_devkit import build_package
from dify_plugin_devkit.testing import start_devkit
from tests.conftest import DEV_CONFIG, ROOT, dev_examples

INSTALLS = {
    "uv sync (pyproject.toml + uv.lock)": ["sync", "--no-dev", "--frozen"],
    "uv sync, lock ignored (PLUGIN_IGNORE_UV_LOCK=true)": ["sync", "--no-dev"],
    "uv pip (requirements.txt, index mirror set)": ["pip", "install", "-r", "requirements.txt"],
}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(ROOT, tmp_path_factory.mktemp("dist"), log=lambda *_: None)


@pytest.fixture(params=list(INSTALLS), scope="module")
def installed(request: pytest.FixtureRequest, package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder with the package unpacked and its environment built as the daemon does."""
    folder = tmp_path_factory.mktemp("installed")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(folder)
    assert not (folder / "devkit").exists()
    assert (folder / "pyproject.toml").exists()
    uv = find_uv_bin()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(folder / ".venv")}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    run = {"cwd": folder, "env": env, "capture_output": True, "text": True, "timeout": 300}
    created = subprocess.run([uv, "venv", ".venv", "--python", sys.executable], **run)
    assert created.returncode == 0, created.stderr
    done = subprocess.run([uv, *INSTALLS[request.param]], **run)
    assert done.returncode == 0, f"{request.param} failed:\n{done.stderr}"
    return folder / ".venv" / "bin" / "python"


def test_environment_has_the_sdk_and_nothing_of_the_development_setup(installed: Path) -> None:
    modules = ("dify_plugin", "dify_plugin_devkit", "pytest", "aiohttp")
    probe = f"import importlib.util as u; print([m for m in {modules!r} if u.find_spec(m)])"
    found = subprocess.run([installed, "-c", probe], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "['dify_plugin']", found.stderr


def test_plugin_starts_from_that_environment_and_answers(installed: Path, tmp_path: Path) -> None:
    plugin_dir = installed.parent.parent.parent
    devkit = start_devkit(plugin_dir, DEV_CONFIG, workdir=tmp_path, extra_args=("--python", str(installed)))
    try:
        with httpx.Client(timeout=30) as client:
            for example in dev_examples():
                response = example.send(devkit.base_url, client)
                assert response.status_code == 200, f"{example}: {response.text[:300]}"
    finally:
        devkit.stop()
