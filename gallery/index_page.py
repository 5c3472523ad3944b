"""The index page (`GET /`): what this endpoint is, its routes' public URLs with
copyable curl lines, and a live demo of each route.

Server side this only renders HTML (templates/index.html, index.css, index.js); the
demos run in the browser (index.js), which submits the forms with `fetch` and reads
the stream. Everything from the app (labels, options, defaults) or the request (the
hook URL) is HTML-escaped by Jinja's autoescaping; the script builds its DOM with
`textContent` only. The page's text
is in English or Simplified Chinese (`TEXT`), after the visitor's Accept-Language.
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal
from urllib.parse import quote, urlunsplit

from werkzeug import Request

from gallery import render
from provider import http, i18n, parsing
from provider.app_form import FormField
from provider.errors import AppFailed, EndpointError, Unauthorized

#: The page's text (templates/index.html), checked for every language when this module loads.
TEXT: Final = i18n.Catalog(render.macros("index.html").TEXT)


def plugin_labels(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The plugin's `label` per language from its manifest: the page's title. Read from
    the manifest so this module stays the same in a copy of the plugin; an unreadable
    one gives the plugin's generic name."""
    label = manifest.get("label")
    labels = {k: v for k, v in label.items() if isinstance(v, str) and v} if isinstance(label, dict) else {}
    fallback = labels.get(i18n.DEFAULT, "Dify plugin")
    return {lang: labels.get(lang, fallback) for lang in i18n.LANGUAGES}


@functools.cache
def page_labels() -> Mapping[str, str]:
    """The page's title per language, from the plugin's manifest (`http.manifest`)."""
    return MappingProxyType(plugin_labels(http.manifest()))


#: Strings the script shows (templates/index.html; handed to it as JSON in the page).
SCRIPT_TEXT: Final = i18n.Catalog(render.macros("index.html").SCRIPT_TEXT)

#: The routes the page presents, in page order: (route, the app-selector setting of its app)
ROUTES: Final[tuple[tuple[str, str], ...]] = (
    ("duck", "chat_app"),
    ("workflow", "workflow_app"),
    ("completion", "completion_app"),
)


@dataclass(frozen=True)
class Demo:
    """One route on the page: `ready` with its app's input form, `unset` (no app
    chosen) or `failed` (the app could not be read: `failure`)."""

    route: str
    setting: str
    state: Literal["ready", "unset", "failed"]
    fields: tuple[FormField, ...] = ()
    failure: AppFailed | None = field(default=None, compare=False)


new_nonce = render.new_nonce

#: Script and style only from this response (nonce); `fetch` only to this origin;
#: images only inline (the page's icon); nothing else loads; forms only back to us;
#: never framed.
CSP: Final = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
    "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def page_headers(nonce: str, lang: i18n.Language) -> dict[str, str]:
    """The gallery's page headers (render.page_headers) with this page's policy."""
    return render.page_headers(nonce, lang, CSP)


def public_base(r: Request) -> str:
    """This endpoint's public URL without a trailing slash, e.g. `https://dify.example/e/abc`.

    The daemon sends `Dify-Hook-Url`: the URL the client called (`<scheme>://<host>/e/
    <hook id><path>`), or the value a proxy in front of Dify set. Only an http(s) URL
    is used, with this route's path cut off; without one, the request's own host and
    `Dify-Hook-Id` stand in.
    """
    parts = parsing.hook_url(r)
    if parts is not None:
        path = parts.path
        if r.path != "/" and path.endswith(r.path):
            path = path[: -len(r.path)]
        return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))
    hook_id = quote(r.headers.get("Dify-Hook-Id", ""), safe="")
    return f"{r.scheme}://{r.host}/e/{hook_id}" if hook_id else f"{r.scheme}://{r.host}"


# --- curl lines ----------------------------------------------------------------------

_AUTH = '-H "Authorization: Bearer $API_KEY"'


def curl_lines(demo: Demo, base: str, with_key: bool) -> list[str]:
    """Example requests for `demo`'s route that work as printed (a key as $API_KEY)."""
    url = f"{base}/{demo.route}"
    auth = f" {_AUTH}" if with_key else ""
    if demo.route == "duck":
        return [
            f"curl -N{auth} {shlex.quote(url + '?query=' + quote('Hello duck'))}",
            f"curl -N -X POST{auth} {shlex.quote(url)} -d 'query=Hello duck'",
        ]
    inputs = example_inputs(demo.fields)
    body = json.dumps({"inputs": inputs}, ensure_ascii=False)
    files = [f for f in demo.fields if f.is_file]
    if any(f.required for f in files):
        parts = " ".join(f"-F {shlex.quote(f'{f.variable}=@{f.variable}.txt')}" for f in files if f.required)
        inputs_part = shlex.quote("inputs=" + json.dumps(inputs, ensure_ascii=False))
        return [f"curl -N -X POST{auth} {shlex.quote(url)} -F {inputs_part} {parts}"]
    query = quote(json.dumps(inputs, ensure_ascii=False), safe="")
    return [
        f"curl -N -X POST{auth} {shlex.quote(url)} -H 'Content-Type: application/json' -d {shlex.quote(body)}",
        f"curl -N{auth} {shlex.quote(f'{url}?inputs={query}')}",
    ]


# --- HTML: templates/index.html ----------------------------------------------------


def _page() -> Any:
    """The macros of templates/index.html, with what they call here."""
    return render.template("index.html").make_module({"curl_lines": curl_lines})


def error_page(nonce: str, lang: i18n.Language, error: EndpointError) -> str:
    """The page refused: an API key to ask for, or settings the owner must fix."""
    label = page_labels()[lang]
    return str(_page().error_page(nonce, lang, TEXT.bind(lang), label, error, isinstance(error, Unauthorized)))


def page(
    nonce: str, lang: i18n.Language, base: str, demos: Sequence[Demo], *, key_required: bool, key: str | None
) -> str:
    """The whole page."""
    label = page_labels()[lang]
    t = TEXT.bind(lang)
    return str(_page().page(nonce, lang, t, label, base, demos, key_required, key, SCRIPT_TEXT.templates(lang)))


def example_inputs(fields: Sequence[FormField]) -> dict[str, Any]:
    """Inputs for a copyable example request: each non-file field's default, else a
    value of its type (required ones must be present for the example to work)."""
    inputs: dict[str, Any] = {}
    for item in fields:
        if item.is_file:
            continue
        if item.default not in (None, ""):
            inputs[item.variable] = item.default
        elif item.kind == "select":
            inputs[item.variable] = item.options[0] if item.options else ""
        elif item.kind == "number":
            inputs[item.variable] = 1
        elif item.kind == "checkbox":
            inputs[item.variable] = False
        else:
            inputs[item.variable] = item.label[: item.max_length or None] if item.required else ""
    return inputs
