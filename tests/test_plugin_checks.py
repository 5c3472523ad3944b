"""The plugin as Dify will judge it: `make check` finds nothing; `.difyignore` keeps the
development setup out of the package."""

from __future__ import annotations

from dify_plugin_devkit import check_plugin
from tests.conftest import ROOT


def test_plugin_passes_check() -> None:
    problems = check_plugin(ROOT)
    assert problems == [], "\n".join(str(p) for p in problems)


def test_difyignore_excludes_the_development_folders_but_not_the_dependency_files() -> None:
    lines = (ROOT / ".difyignore").read_text().splitlines()
    assert {"devkit/", "tests/", "dev/", ".devkit-state/"} <= set(lines)
    assert not {"pyproject.toml", "uv.lock", "/pyproject.toml", "/uv.lock"} & set(lines)
