"""READMEs as Dify's daemon reads them: README.md (en_US) and readme/README_<lang>.md.

A misnamed file in `readme/` is reported (the daemon skips it without a word); the
READMEs it reads are shipped, and an ignore rule that would drop one is refused.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from support import GOOD_PLUGIN as GOOD

from dify_plugin_devkit import build_package
from dify_plugin_devkit._declarations import check_plugin, inspect_plugin
from dify_plugin_devkit._errors import ExcludedFileError


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "plugin"
    shutil.copytree(GOOD, root)
    (root / "README.md").write_text("# Good\n")
    (root / "readme").mkdir()
    (root / "readme" / "README_zh_Hans.md").write_text("# 好\n")
    (root / "readme" / "README_ja_JP.md").write_text("# 良い\n")
    return root


def test_translated_readmes_are_accepted_and_shipped(plugin: Path, tmp_path: Path) -> None:
    report = inspect_plugin(plugin)
    assert report.problems == []
    assert {"README.md", "readme/README_zh_Hans.md", "readme/README_ja_JP.md"} <= report.files
    package = build_package(plugin, tmp_path / "dist", log=lambda _line: None)
    with zipfile.ZipFile(package) as archive:
        assert archive.read("readme/README_zh_Hans.md").decode() == "# 好\n"
        assert {"README.md", "readme/README_ja_JP.md"} <= set(archive.namelist())


@pytest.mark.parametrize(
    "name", ["README_zh.md", "README-zh_Hans.md", "readme_zh_Hans.md", "README_zh_Hans.txt", "notes.md"]
)
def test_a_file_dify_would_ignore_is_reported(plugin: Path, name: str) -> None:
    (plugin / "readme" / name).write_text("x\n")
    [problem] = check_plugin(plugin)
    assert (problem.path, problem.field) == (f"readme/{name}", "(file)")
    assert "Dify ignores this file" in problem.message
    assert "README_zh_Hans.md" in problem.fix


def test_an_ignore_rule_that_drops_a_readme_is_refused(plugin: Path, tmp_path: Path) -> None:
    (plugin / ".difyignore").write_text("readme/\n")
    with pytest.raises(ExcludedFileError, match=r"readme/README_ja_JP\.md"):
        build_package(plugin, tmp_path / "dist", log=lambda _line: None)


def test_a_plugin_without_a_readme_folder_is_unchanged(plugin: Path) -> None:
    shutil.rmtree(plugin / "readme")
    assert check_plugin(plugin) == []
