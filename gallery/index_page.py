# ruff: noqa: RUF001 - the Chinese texts use full-width punctuation on purpose
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

TEXT: Final = i18n.Catalog(
    {
        "intro": {
            "en_US": "This is an endpoint of the “{plugin}” plugin for Dify: three HTTP routes that call "
            "the apps chosen in its settings and stream their answers. Its address is {base}/",
            "zh_Hans": "这是 Dify 插件“{plugin}”的一个端点：三个 HTTP 路由，"
            "调用其设置中选定的应用并流式返回回答。端点地址为 {base}/",
        },
        "key_heading": {"en_US": "API key", "zh_Hans": "API 密钥"},
        "key_label": {"en_US": "API key of this endpoint", "zh_Hans": "此端点的 API 密钥"},
        "key_note": {
            "en_US": "The demos send it as Authorization: Bearer. This page never stores it.",
            "zh_Hans": "演示会以 Authorization: Bearer 发送它。本页面不会保存它。",
        },
        "key_needed": {
            "en_US": "This endpoint needs its API key. Enter it to open this page.",
            "zh_Hans": "此端点需要 API 密钥。输入后即可打开本页面。",
        },
        "key_wrong": {
            "en_US": "That API key is wrong. Enter the key set in the endpoint's settings.",
            "zh_Hans": "API 密钥不正确。请输入端点设置中的密钥。",
        },
        "open": {"en_US": "Open", "zh_Hans": "打开"},
        "settings_error": {
            "en_US": "This endpoint's settings need fixing by the workspace owner:",
            "zh_Hans": "此端点的设置有误，需要工作区所有者在 Dify 中修正：",
        },
        "duck_title": {"en_US": "Duck — a chat page", "zh_Hans": "Duck — 聊天页面"},
        "duck_about": {
            "en_US": "GET or POST /duck asks the chat app in `chat_app` and streams its answer as an HTML page "
            "with a follow-up form.",
            "zh_Hans": "GET 或 POST /duck 向 `chat_app` 中的聊天应用提问，并以 HTML 页面流式显示回答，附带追问表单。",
        },
        "workflow_title": {"en_US": "Workflow runner", "zh_Hans": "工作流运行"},
        "workflow_about": {
            "en_US": "POST /workflow runs the workflow in `workflow_app`: Server-Sent Events, or blocking JSON "
            'with "response_mode": "blocking". GET /workflow?inputs=… is the same for EventSource.',
            "zh_Hans": 'POST /workflow 运行 `workflow_app` 中的工作流：返回 Server-Sent Events，或在 "response_mode": '
            '"blocking" 时返回 JSON。GET /workflow?inputs=… 供 EventSource 使用。',
        },
        "completion_title": {"en_US": "Completion runner", "zh_Hans": "文本生成运行"},
        "completion_about": {
            "en_US": "POST /completion runs the completion app in `completion_app`, with the same contract as "
            "/workflow.",
            "zh_Hans": "POST /completion 运行 `completion_app` 中的文本生成应用，约定与 /workflow 相同。",
        },
        "url": {"en_US": "URL", "zh_Hans": "地址"},
        "try_it": {"en_US": "Try it", "zh_Hans": "试一试"},
        "curl": {"en_US": "With curl", "zh_Hans": "使用 curl"},
        "curl_key": {
            "en_US": "Set API_KEY to the endpoint's key first: export API_KEY=…",
            "zh_Hans": "请先把 API_KEY 设为端点的密钥：export API_KEY=…",
        },
        "copy": {"en_US": "Copy", "zh_Hans": "复制"},
        "copy_label": {"en_US": "Copy the curl lines of {route}", "zh_Hans": "复制 {route} 的 curl 命令"},
        "copied": {"en_US": "Copied", "zh_Hans": "已复制"},
        "unset": {
            "en_US": "Not configured: the workspace owner has not chosen an app in the `{setting}` setting.",
            "zh_Hans": "未配置：工作区所有者尚未在 `{setting}` 设置中选择应用。",
        },
        "unavailable": {"en_US": "Not available: {message} ({code})", "zh_Hans": "不可用：{message}（{code}）"},
        # the reasons an app cannot be read (the app_form.fetch_form error codes), by code
        "app_not_found": {
            "en_US": "the app set in `{setting}` was not found in this workspace; the workspace owner must choose "
            "another app in the endpoint's settings",
            "zh_Hans": "`{setting}` 中设置的应用在此工作区中不存在；工作区所有者需要在端点设置中选择其他应用",
        },
        "app_permission_denied": {
            "en_US": "the plugin is not allowed to read apps (its manifest lacks the app permission)",
            "zh_Hans": "插件无权读取应用（其清单缺少 app 权限）",
        },
        "question": {"en_US": "Your question", "zh_Hans": "你的问题"},
        "ask": {"en_US": "Ask the duck", "zh_Hans": "问鸭子"},
        "duck_placeholder": {"en_US": "Ask the duck anything", "zh_Hans": "问鸭子任何问题"},
        "run": {"en_US": "Run", "zh_Hans": "运行"},
        "no_inputs": {"en_US": "This app takes no inputs.", "zh_Hans": "此应用没有输入项。"},
        "required_note": {"en_US": "Fields marked * are required.", "zh_Hans": "标 * 的为必填项。"},
        "max_chars": {"en_US": "at most {count} characters", "zh_Hans": "最多 {count} 个字符"},
        "max_files": {"en_US": "at most {count} files", "zh_Hans": "最多 {count} 个文件"},
        "choose": {"en_US": "(choose)", "zh_Hans": "（请选择）"},
        "noscript": {
            "en_US": "The live demos need JavaScript; the curl lines work without it.",
            "zh_Hans": "在线演示需要 JavaScript；curl 命令无需 JavaScript。",
        },
        "nodes": {"en_US": "Nodes", "zh_Hans": "节点"},
        "text": {"en_US": "Text", "zh_Hans": "文本"},
        "answer": {"en_US": "Answer", "zh_Hans": "回答"},
        "outputs": {"en_US": "Outputs", "zh_Hans": "输出"},
    }
)


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


#: Strings the script shows (handed to it as JSON in the page, in the page's language).
SCRIPT_TEXT: Final = i18n.Catalog(
    {
        "running": {"en_US": "Running… {seconds} s", "zh_Hans": "运行中… {seconds} 秒"},
        "succeeded": {"en_US": "Finished in {seconds} s", "zh_Hans": "完成，用时 {seconds} 秒"},
        "failed": {"en_US": "Failed after {seconds} s", "zh_Hans": "失败，用时 {seconds} 秒"},
        "run_failed": {"en_US": "The run failed: {message}", "zh_Hans": "运行失败：{message}"},
        "refused": {"en_US": "The request was refused: {message}", "zh_Hans": "请求被拒绝：{message}"},
        "broken": {"en_US": "The connection broke: {message}", "zh_Hans": "连接中断：{message}"},
        "ended_early": {
            "en_US": "The stream ended before the run finished.",
            "zh_Hans": "运行尚未结束，数据流就已终止。",
        },
        "too_many_files": {"en_US": "Choose at most {count} files.", "zh_Hans": "最多选择 {count} 个文件。"},
        "node_running": {"en_US": "running", "zh_Hans": "运行中"},
        "copied": {"en_US": "Copied", "zh_Hans": "已复制"},
    }
)

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
    return render.template("index.html").make_module({"curl_lines": curl_lines, "known": TEXT})


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
