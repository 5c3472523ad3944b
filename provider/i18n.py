"""The visitor's language, and the small message catalogs the pages keep their text in.

The plugin speaks the two languages its manifest declares, English (`en_US`) and
Simplified Chinese (`zh_Hans`); a page picks one from the visitor's `Accept-Language`
header (q-values honoured, English when nothing fits) with `negotiate(request)`.

Each page keeps its own strings next to its HTML in a `Catalog` (a mapping written in
the page's module, or in its template and read from there), so a page stays readable
top to bottom and a copy of the plugin deletes a page with its text:

    TEXT = i18n.Catalog({
        "title": {"en_US": "Status", "zh_Hans": "状态"},
        "asked": {"en_US": "You asked {count} questions", "zh_Hans": "你问了 {count} 个问题"},
    })
    lang = i18n.negotiate(r)
    t = TEXT.bind(lang)
    t("asked", count=3)

A Catalog refuses, when the module is imported, a message that lacks a language or
whose translations do not take the same `{placeholders}`: a missing translation is
a failing import (and so a failing unit test), never a `KeyError` in front of a
visitor. Only the text changes with the language: error `code`s never do.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping
from typing import Final, Literal

from werkzeug import Request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

Language = Literal["en_US", "zh_Hans"]

#: The languages the manifest declares, in Dify's spelling; the first is the fallback.
LANGUAGES: Final[tuple[Language, ...]] = ("en_US", "zh_Hans")
DEFAULT: Final[Language] = "en_US"

# Matched on the primary subtag: werkzeug's LanguageAccept then finds `en` for `en-GB`
# and `zh` for `zh-CN`, `zh-Hans-CN` or `zh-TW` (Simplified is the only Chinese here,
# and reads better to a Chinese reader than the English fallback).
_PRIMARY: Final[dict[str, Language]] = {"en": "en_US", "zh": "zh_Hans"}

#: `<html lang>` / `Content-Language` values (BCP 47, not Dify's underscore spelling).
HTML_LANG: Final[dict[Language, str]] = {"en_US": "en", "zh_Hans": "zh-Hans"}


def negotiate(r: Request | str | None) -> Language:
    """The best of LANGUAGES for a request (or a raw `Accept-Language` value); DEFAULT
    when the header is missing, malformed or names none of them."""
    header = r.headers.get("Accept-Language") if isinstance(r, Request) else r
    if not header:
        return DEFAULT
    accepted = parse_accept_header(header, LanguageAccept)
    best = accepted.best_match(_PRIMARY)
    return _PRIMARY[best] if best is not None else DEFAULT


def page_headers(lang: Language) -> dict[str, str]:
    """Headers for a response whose text depends on `Accept-Language`: caches must keep
    one copy per language (`Vary`), and clients learn which one they got."""
    return {"Content-Language": HTML_LANG[lang], "Vary": "Accept-Language"}


class Catalog:
    """One module's messages: `{message_id: {language: template}}`, `str.format` templates."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        for message_id, texts in messages.items():
            missing = [lang for lang in LANGUAGES if lang not in texts]
            if missing:
                raise ValueError(f"message {message_id!r} has no text in {', '.join(missing)}")
            fields = {lang: _fields(texts[lang]) for lang in LANGUAGES}
            if len({frozenset(names) for names in fields.values()}) != 1:
                raise ValueError(f"message {message_id!r} takes different placeholders per language: {fields}")
        self._messages = {message_id: dict(texts) for message_id, texts in messages.items()}

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._messages

    def __iter__(self) -> Iterator[str]:
        return iter(self._messages)

    def templates(self, lang: Language) -> dict[str, str]:
        """Every message of `lang` unformatted (`{placeholders}` kept): what a page hands its
        script, which fills them in itself."""
        return {message_id: texts.get(lang, texts[DEFAULT]) for message_id, texts in self._messages.items()}

    def text(self, lang: Language, message_id: str, **params: object) -> str:
        """The message in `lang` (English if `lang` is not one of LANGUAGES) with `params` filled in."""
        texts = self._messages[message_id]
        return texts.get(lang, texts[DEFAULT]).format(**params)

    def bind(self, lang: Language) -> Callable[..., str]:
        """`t(message_id, **params)` in one language: what a page renderer passes around."""

        def t(message_id: str, /, **params: object) -> str:
            return self.text(lang, message_id, **params)

        return t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
