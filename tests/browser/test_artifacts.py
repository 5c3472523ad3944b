"""The browser tests' screenshots never ship: `test-artifacts/` is kept out of the package
(by `.difyignore`) and out of git (by `.gitignore`)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from dify_plugin_devkit import build_package
from tests.browser.conftest import ARTIFACTS
from tests.conftest import ROOT


def test_screenshots_stay_out_of_the_package(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    probe = ARTIFACTS / "probe-package.png"
    probe.write_bytes(b"\x89PNG\r\n\x1a\n")
    try:
        package = build_package(ROOT, tmp_path, log=lambda *_: None)
    finally:
        probe.unlink()
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    assert "manifest.yaml" in names  # a real package was built
    assert not [name for name in names if name.startswith("test-artifacts")]


def test_screenshots_stay_out_of_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "test-artifacts/duck.png"], cwd=ROOT, check=False, capture_output=True
    )
    assert ignored.returncode == 0
