"""What Dify shows the workspace owner: the READMEs in the package, and only those docs.

Dify's daemon reads `README.md` as the en_US README and `readme/README_<lang>.md` for
other languages (dify-plugin-daemon, AvailableI18nReadme); Dify shows them to whoever
installs the plugin. Developer documentation (`docs/`, the former TESTING.md and
BENCHMARKS.md) stays in the repository. Everything here reads the plugin's names from
its manifest and group file, so a copy of this template keeps passing unchanged.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any

import pytest

from dify_plugin_devkit import build_package
from tests.conftest import ROOT, manifest, read_yaml, routes

#: Dify's plugin README guideline asks for a concise README; this is its ceiling.
MAX_README_WORDS = 650


@pytest.fixture(scope="module")
def names_and_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], zipfile.ZipFile]:
    package = build_package(ROOT, tmp_path_factory.mktemp("dist"), log=lambda *_: None)
    archive = zipfile.ZipFile(package)
    return set(archive.namelist()), archive


def languages() -> list[str]:
    """The languages the manifest's label declares besides English: each needs its README."""
    return sorted(lang for lang in manifest()["label"] if lang != "en_US")


def settings() -> list[dict[str, Any]]:
    return list(read_yaml(ROOT / manifest()["plugins"]["endpoints"][-1]).get("settings") or [])


def readme(lang: str = "en_US") -> str:
    path = ROOT / "README.md" if lang == "en_US" else ROOT / "readme" / f"README_{lang}.md"
    return path.read_text(encoding="utf-8")


def words(text: str) -> int:
    return len(re.findall(r"\S+", text))


def test_the_package_ships_every_readme_as_in_the_repository(names_and_package: tuple[set[str], Any]) -> None:
    names, archive = names_and_package
    expected = ["README.md", *(f"readme/README_{lang}.md" for lang in languages())]
    for name in expected:
        assert name in names, name
        assert archive.read(name) == (ROOT / name).read_bytes(), name


def test_the_package_holds_no_developer_documentation(names_and_package: tuple[set[str], Any]) -> None:
    names, _ = names_and_package
    assert not {"TESTING.md", "BENCHMARKS.md"} & names
    assert not [n for n in names if n.startswith("docs/")]
    assert "docs/" in (ROOT / ".difyignore").read_text().splitlines()


@pytest.mark.parametrize("lang", ["en_US", *languages()])
def test_each_readme_is_concise(lang: str) -> None:
    assert words(readme(lang)) <= MAX_README_WORDS


def test_the_readme_names_every_route_and_every_setting() -> None:
    text = readme()
    for method, path in routes():
        if method != "OPTIONS":
            path = re.sub(r"<\w+:(\w+)>", r"<\1>", path)  # a werkzeug converter, as people write it
            assert f"`{path}" in text or f"{method} {path}" in text, path
    for setting in settings():
        assert setting["label"]["en_US"] in text, setting["name"]


@pytest.mark.parametrize("lang", languages())
def test_each_translation_names_every_setting_in_its_language(lang: str) -> None:
    text = readme(lang)
    for setting in settings():
        label = setting["label"].get(lang, setting["label"]["en_US"])
        assert label in text, (lang, setting["name"])


def test_the_readme_ends_pointing_developers_to_make_dev_make_test_and_docs() -> None:
    develop = readme().split("## Develop", 1)
    assert len(develop) == 2
    assert "make dev" in develop[1]
    assert "make test" in develop[1]
