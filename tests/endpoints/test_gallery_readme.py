"""The gallery's README is the short one Dify's guideline asks for (around 500 words).

Here, not in tests/packaging/, because the bound is the gallery's own: a template copy
deletes this folder with the gallery's routes and writes its own README
(tests/packaging/test_readmes.py, which every copy keeps, checks only the ceiling).
"""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_the_readme_is_around_500_words() -> None:
    count = len(re.findall(r"\S+", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert 350 <= count <= 650, count


def test_the_readme_points_developers_to_docs() -> None:
    develop = (ROOT / "README.md").read_text(encoding="utf-8").split("## Develop", 1)[1]
    assert "[docs/](docs/README.md)" in develop
    assert (ROOT / "docs" / "README.md").is_file()


def test_the_chinese_readme_follows_the_english_one_section_for_section() -> None:
    english = re.findall(r"^## ", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    chinese = (ROOT / "readme" / "README_zh_Hans.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^## ", chinese, re.MULTILINE)) == len(english)
    for command in ("make dev", "make test", '"response_mode": "blocking"', "Authorization: Bearer <key>"):
        assert command in chinese
