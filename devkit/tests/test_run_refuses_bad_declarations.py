"""`dify-devkit run` refuses a plugin with bad declarations in the words of `dify-devkit check`.

Both read the plugin with the same reader, so the runner prints the check's lines
(every problem, one line each) and exits 2 before any process or socket exists:
never a pydantic validation dump, never a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import GOOD_PLUGIN

from dify_plugin_devkit import DeclarationError, Devkit, DevkitOptions, check_plugin


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The `good` fixture with a manifest the SDK refuses and a method Dify refuses."""
    root = tmp_path / "plugin"
    shutil.copytree(GOOD_PLUGIN, root)
    manifest = yaml.safe_load((root / "manifest.yaml").read_text())
    manifest["name"] = "Bad Name"  # the SDK's pattern refuses it: a pydantic error
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    endpoint = yaml.safe_load((root / "endpoints" / "hello.yaml").read_text())
    endpoint["method"] = "FETCH"  # the SDK takes any text; Dify's daemon does not
    (root / "endpoints" / "hello.yaml").write_text(yaml.safe_dump(endpoint, sort_keys=False))
    return root


def devkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dify_plugin_devkit", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_run_prints_the_lines_check_prints_and_exits_2(broken: Path, tmp_path: Path) -> None:
    check = devkit("check", str(broken), cwd=tmp_path)
    run = devkit("run", str(broken), "--port", "0", cwd=tmp_path)

    assert check.returncode == 1
    check_lines = check.stdout.splitlines()
    assert any(": name: " in line for line in check_lines), check_lines
    assert any(": method: 'FETCH'" in line for line in check_lines), check_lines
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "validation error for" not in run.stderr  # pydantic's dump
    said = [line.removeprefix("[devkit] ").removeprefix("error: ") for line in run.stderr.splitlines()]
    assert said == check_lines


def test_devkit_load_raises_every_problem_as_check_reports_it(broken: Path) -> None:
    with pytest.raises(DeclarationError) as raised:
        Devkit(DevkitOptions(plugin_dir=broken)).load()
    problems = check_plugin(broken)
    assert raised.value.problems == problems
    assert str(raised.value).splitlines() == [p.format(str(broken)) for p in problems]
