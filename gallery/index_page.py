"""The index page (`GET /`): what this endpoint is, its routes' public URLs with
copyable curl lines, a live demo of each route, and how clients connect to its
OpenAI-compatible API (`/v1`: base URL, models, curl and `openai` SDK examples) and its
MCP server (`/mcp`: URL, tools, configuration for common MCP clients).

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

from gallery import openai_compat, render
from gallery.mcp import tools as mcp_tools
from provider import http, i18n, parsing
from provider.app_form import FormField
from provider.errors import AppFailed, EndpointError, Unauthorized
from provider.settings import EndpointSettings

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


# --- the OpenAI-compatible API and the MCP server ------------------------------------


@dataclass(frozen=True)
class Exhibits:
    """What the page says about `/v1` and `/mcp`: the models and the tools the endpoint's
    settings give (the same functions those routes call, so the page lists what they
    serve), or why a setting keeps them from being listed (`*_failure`)."""

    models: tuple[openai_compat.Model, ...] = ()
    tools: tuple[mcp_tools.Tool, ...] = ()
    models_failure: EndpointError | None = field(default=None, compare=False)
    tools_failure: EndpointError | None = field(default=None, compare=False)


def exhibits(settings: Mapping[str, Any], config: EndpointSettings) -> Exhibits:
    """The models (`openai_compat.configured_models`) and tools (`mcp.tools.configured_tools`)
    of these settings; a setting either refuses (e.g. a malformed `openai_model_names`)
    is that part's failure, shown in its section, and the rest of the page still works."""
    models: tuple[openai_compat.Model, ...] = ()
    tools: tuple[mcp_tools.Tool, ...] = ()
    models_failure = tools_failure = None
    try:
        models = tuple(openai_compat.configured_models(settings, config))
    except EndpointError as error:
        models_failure = error
    try:
        tools = tuple(mcp_tools.configured_tools(settings, config))
    except EndpointError as error:
        tools_failure = error
    return Exhibits(models, tools, models_failure, tools_failure)


#: Where a key goes in the SDK and MCP examples: a placeholder, never the key itself.
KEY_PLACEHOLDER: Final = "<api_key>"
#: The SDK refuses an empty api_key; an endpoint without a key takes any text.
NO_KEY: Final = "none"
#: The question the examples ask.
EXAMPLE_QUESTION: Final = "Hello duck"


def example_model(models: Sequence[openai_compat.Model]) -> openai_compat.Model:
    """The model the examples call: the chat app's (a question is all it needs), else the first."""
    return next((m for m in models if m.kind == "chat"), models[0])


def _chat_body(model: openai_compat.Model, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model.id, "messages": [{"role": "user", "content": EXAMPLE_QUESTION}]}
    return {**body, "stream": True} if stream else body


def openai_curl_lines(base: str, models: Sequence[openai_compat.Model], with_key: bool) -> list[str]:
    """The model list and a streamed chat completion, with curl, working as printed (a key as $API_KEY)."""
    auth = f" {_AUTH}" if with_key else ""
    body = json.dumps(_chat_body(example_model(models), stream=True), ensure_ascii=False)
    return [
        f"curl -N{auth} {shlex.quote(f'{base}/v1/models')}",
        f"curl -N -X POST{auth} {shlex.quote(f'{base}/v1/chat/completions')} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}",
    ]


def openai_python(base: str, models: Sequence[openai_compat.Model], with_key: bool) -> str:
    """A few lines of the `openai` Python SDK against `<base>/v1` (strings as JSON, which
    Python reads as the same literals)."""
    key = KEY_PLACEHOLDER if with_key else NO_KEY
    model = example_model(models)
    messages = json.dumps(_chat_body(model, stream=False)["messages"], ensure_ascii=False)
    return "\n".join(
        [
            "from openai import OpenAI",
            "",
            f"client = OpenAI(base_url={json.dumps(base + '/v1')}, api_key={json.dumps(key)})",
            "print([model.id for model in client.models.list()])",
            f"reply = client.chat.completions.create(model={json.dumps(model.id)}, messages={messages})",
            "print(reply.choices[0].message.content)",
        ]
    )


#: The server's name in the MCP clients' configurations.
MCP_SERVER_NAME: Final = "dify"


def _mcp_entry(base: str, with_key: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "http", "url": f"{base}/mcp"}
    return {**entry, "headers": {"Authorization": f"Bearer {KEY_PLACEHOLDER}"}} if with_key else entry


def mcp_configs(base: str, with_key: bool) -> dict[str, str]:
    """`<base>/mcp` in common MCP clients' configuration: VS Code's `.vscode/mcp.json`
    (`servers`), Cursor's `.cursor/mcp.json` (the same entry under `mcpServers`) and
    Claude Code's `claude mcp add` line. The key is a placeholder."""
    entry = _mcp_entry(base, with_key)
    header = f' --header "Authorization: Bearer {KEY_PLACEHOLDER}"' if with_key else ""
    return {
        "vscode": json.dumps({"servers": {MCP_SERVER_NAME: entry}}, indent=2, ensure_ascii=False),
        "cursor": json.dumps({"mcpServers": {MCP_SERVER_NAME: entry}}, indent=2, ensure_ascii=False),
        "claude": f"claude mcp add --transport http {MCP_SERVER_NAME} {shlex.quote(f'{base}/mcp')}{header}",
    }


# --- HTML: templates/index.html ----------------------------------------------------


def _page() -> Any:
    """The macros of templates/index.html, with what they call here."""
    return render.template("index.html").make_module(
        {
            "curl_lines": curl_lines,
            "openai_curl_lines": openai_curl_lines,
            "openai_python": openai_python,
            "mcp_configs": mcp_configs,
        }
    )


def error_page(nonce: str, lang: i18n.Language, error: EndpointError) -> str:
    """The page refused: an API key to ask for, or settings the owner must fix."""
    label = page_labels()[lang]
    return str(_page().error_page(nonce, lang, TEXT.bind(lang), label, error, isinstance(error, Unauthorized)))


def page(
    nonce: str,
    lang: i18n.Language,
    base: str,
    demos: Sequence[Demo],
    *,
    key_required: bool,
    key: str | None,
    exhibits: Exhibits | None = None,
) -> str:
    """The whole page; with `exhibits`, the `/v1` and `/mcp` sections too."""
    label = page_labels()[lang]
    t = TEXT.bind(lang)
    script_text = SCRIPT_TEXT.templates(lang)
    return str(_page().page(nonce, lang, t, label, base, demos, key_required, key, script_text, exhibits))


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
