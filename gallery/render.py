"""The gallery's pages from Jinja2 templates (`gallery/templates/`), escaped by Jinja.

Autoescaping is on for every template: whatever a page shows from the app, the visitor
or the request is HTML-escaped by Jinja, never by hand. The one HTML trusted as is is
Markdown rendered by markdown-it-py (`markdown` filter: gallery.markdown, which lets no
raw HTML through) and the pages' own CSS and script (`.css`/`.js` files in the
templates folder, included as they are).

Templates are written indented, over several lines, for people; a line break and the
indentation that follows it are dropped when a `.html` template is loaded, so the page
a browser gets is the compact markup the golden tests pin (`{{ "\\n" }}` writes a line
break). Both pages share `base.html` (the head, with the CSP nonce and the inline icon,
and the tail) and `page_headers` (the security headers).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import jinja2
from jinja2.ext import Extension
from markupsafe import Markup

from gallery import markdown
from provider import i18n

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
_LINE_BREAK = re.compile(r"\n[ \t]*")
_CODE = re.compile(r"`([^`]+)`")


class _Compact(Extension):
    """Drops each line break and the indentation after it from `.html` templates."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _LINE_BREAK.sub("", source) if name and name.endswith(".html") else source


def _markdown(text: str) -> Markup | None:
    """An answer as Markdown HTML (the only Markup from outside the templates), or None
    when it is too long to render (gallery.markdown.MAX_RENDER_CHARS)."""
    html = markdown.render(text)
    return None if html is None else Markup(html)  # noqa: S704 - markdown-it-py's output, raw HTML disabled


def prose(text: str) -> Iterator[tuple[str, str]]:
    """`text` as (plain, code) pairs: its `backticked` words (setting names, JSON) show as
    code. The template escapes both parts."""
    parts = _CODE.split(text)
    for index in range(0, len(parts), 2):
        yield parts[index], parts[index + 1] if index + 1 < len(parts) else ""


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja environment of the gallery's pages (made once, when a page is first rendered)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        extensions=[_Compact],
    )
    env.filters["markdown"] = _markdown
    env.globals["prose"] = prose
    env.globals["html_lang"] = i18n.HTML_LANG
    env.globals["link_rel"] = markdown.LINK_REL
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def macros(name: str) -> Any:
    """The macros of template `name`, callable from Python (each returns escaped Markup)."""
    return template(name).module


def asset(name: str) -> str:
    """A `.css` or `.js` file of the templates folder, as the pages include it."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def new_nonce() -> str:
    """A fresh CSP nonce per response (128 bits)."""
    return secrets.token_urlsafe(16)


def page_headers(nonce: str, lang: i18n.Language, csp: str) -> dict[str, str]:
    """The headers of every gallery page: its Content-Security-Policy (`csp`, with
    `{nonce}` filled in), never framed, no referrer leaves the page, no sniffing, no
    cache keeps it, and the language it speaks."""
    return {
        "Content-Security-Policy": csp.format(nonce=nonce),
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        **i18n.page_headers(lang),
    }
