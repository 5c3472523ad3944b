"""provider.i18n: the visitor's language from Accept-Language, and message catalogs."""

from __future__ import annotations

from typing import cast

import pytest
from werkzeug import Request
from werkzeug.test import EnvironBuilder

from provider import i18n


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-Hans-CN", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("ZH-cn", "zh_Hans"),
        ("en-GB", "en_US"),
        ("en-US,en;q=0.9", "en_US"),
        ("en;q=0.5, zh;q=0.9", "zh_Hans"),
        ("zh;q=0.5, en;q=0.9", "en_US"),
        ("fr, de;q=0.9, zh;q=0.2", "zh_Hans"),
        ("zh;q=0, en;q=0.1", "en_US"),
        ("zh;q=0", "en_US"),
        ("fr, de", "en_US"),
        ("*", "en_US"),
        ("", "en_US"),
        (";;;,,q=", "en_US"),
    ],
)
def test_negotiate_picks_the_visitors_best_declared_language_else_english(header: str, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_negotiate_reads_the_request_header_and_defaults_without_one() -> None:
    zh = Request(EnvironBuilder(headers=[("Accept-Language", "zh-CN")]).get_environ())
    assert i18n.negotiate(zh) == "zh_Hans"
    assert i18n.negotiate(Request(EnvironBuilder().get_environ())) == "en_US"
    assert i18n.negotiate(None) == "en_US"


def test_page_headers_name_the_language_and_vary_on_accept_language() -> None:
    assert i18n.page_headers("zh_Hans") == {"Content-Language": "zh-Hans", "Vary": "Accept-Language"}
    assert i18n.page_headers("en_US")["Content-Language"] == "en"


def test_catalog_gives_the_text_of_the_language_with_params_filled_in() -> None:
    catalog = i18n.Catalog({"hi": {"en_US": "Hello {name}", "zh_Hans": "你好 {name}"}})
    assert catalog.text("en_US", "hi", name="Ada") == "Hello Ada"
    t = catalog.bind("zh_Hans")
    assert t("hi", name="Ada") == "你好 Ada"
    assert "hi" in catalog
    assert "bye" not in catalog


def test_catalog_refuses_a_message_missing_a_language() -> None:
    with pytest.raises(ValueError, match="'hi' has no text in zh_Hans"):
        i18n.Catalog({"hi": {"en_US": "Hello"}})


def test_catalog_refuses_translations_with_different_placeholders() -> None:
    with pytest.raises(ValueError, match="different placeholders"):
        i18n.Catalog({"hi": {"en_US": "Hello {name}", "zh_Hans": "你好 {nmae}"}})


def test_catalog_names_every_missing_language() -> None:
    with pytest.raises(ValueError, match=r"^message 'hi' has no text in en_US, zh_Hans$"):
        i18n.Catalog({"hi": {"fr": "Salut"}})


def test_catalog_lists_its_message_ids_in_order() -> None:
    catalog = i18n.Catalog({"hi": {"en_US": "Hi", "zh_Hans": "你好"}, "bye": {"en_US": "Bye", "zh_Hans": "再见"}})
    assert list(catalog) == ["hi", "bye"]


def test_a_language_the_catalog_does_not_speak_gets_english() -> None:
    catalog = i18n.Catalog({"hi": {"en_US": "Hello {name}", "zh_Hans": "你好 {name}"}})
    unknown = cast(i18n.Language, "fr_FR")
    assert catalog.text(unknown, "hi", name="Ada") == "Hello Ada"
    assert catalog.templates(unknown) == {"hi": "Hello {name}"}
    assert catalog.templates("zh_Hans") == {"hi": "你好 {name}"}
