"""The plugin as Dify will judge it: `make check` finds nothing; `.difyignore` keeps the
development setup out of the package."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from dify_plugin_devkit import check_plugin
from tests.conftest import ROOT


def test_plugin_passes_check() -> None:
    problems = check_plugin(ROOT)
    assert problems == [], "\n".join(str(p) for p in problems)


def test_difyignore_excludes_the_development_folders_but_not_the_dependency_files() -> None:
    lines = (ROOT / ".difyignore").read_text().splitlines()
    assert {"devkit/", "tests/", "dev/", ".devkit-state/"} <= set(lines)
    assert not {"pyproject.toml", "uv.lock", "/pyproject.toml", "/uv.lock"} & set(lines)


def test_check_imports_the_plugin_in_the_development_venv_and_says_so() -> None:
    """This repository's .venv has every package of uv.lock's runtime set: `check` (and
    `run`) use it instead of building Dify's environment, and say so."""
    env = {k: v for k, v in os.environ.items() if k != "DIFY_DEVKIT_PYTHON"}
    checked = subprocess.run(
        [sys.executable, "-m", "dify_plugin_devkit", "check", str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0].startswith(f"environment: the development venv {ROOT / '.venv'} (it has all "), lines
    assert "packages of uv.lock's runtime set at their declared versions" in lines[0]
    assert re.fullmatch(r"imports: \d+ modules import in it", lines[1]), lines
    assert lines[2].startswith("ok: endpoint_gallery ")
