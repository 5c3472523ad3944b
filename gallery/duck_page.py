# ruff: noqa: RUF001 - the Chinese texts use full-width punctuation on purpose
"""The Duck page: a conversation, the new answer streamed as the chat app writes it.

The markup is templates/duck.html (rendered by gallery.render, in the pieces this
module streams). Everything that comes from the app or the visitor is HTML-escaped
by Jinja's autoescaping: an answer
containing `<img src=x onerror=...>` must show as text, not run as script (the
docs' example injects it raw). A strict Content-Security-Policy backs this up: no
script at all, styles only with this response's nonce.

The page works without JavaScript, by HTML and CSS alone:
- the earlier turns of the conversation (from gallery.conversations) come first,
  rendered as Markdown;
- the new answer streams as plain, escaped text into `#answer` while it arrives
  (so the first words show at once, even behind a gateway that waits for nothing);
- once it is complete, its Markdown rendering (gallery.markdown) follows as
  `#rendered`, and a CSS rule hides the plain block when a rendered block follows
  it (`.answer:has(+ .rendered)`). A browser without `:has()` shows both; none
  shows neither.
- files the app sent follow as images or links (http(s) URLs only).

The text follows the visitor's language (provider.i18n); error `code`s never change,
and English messages are the errors' own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gallery import markdown, render
from gallery.conversations import CUT_MARK, MAX_FILES, File, Turn, safe_file
from provider import i18n
from provider.errors import AppFailed, EndpointError
from provider.pacing import KEEPALIVE, keepalive_batches

TEXT = i18n.Catalog(
    {
        "title": {"en_US": "Duck", "zh_Hans": "Duck 鸭子"},
        "heading": {"en_US": "🦆 Duck", "zh_Hans": "🦆 Duck 鸭子"},
        "ask": {"en_US": "Ask", "zh_Hans": "提问"},
        "placeholder": {"en_US": "Ask the duck anything", "zh_Hans": "问鸭子任何问题"},
        "follow_up": {"en_US": "Ask a follow-up question", "zh_Hans": "继续追问"},
        "question_label": {"en_US": "Your question", "zh_Hans": "你的问题"},
        "earlier": {"en_US": "Earlier in this conversation", "zh_Hans": "本次对话的前文"},
        "history_failed": {
            "en_US": "The earlier turns of this conversation could not be loaded.",
            "zh_Hans": "无法载入本次对话的前文。",
        },
        "replaced": {"en_US": "The app replaced its answer with:", "zh_Hans": "应用将其回答替换为："},
        "files": {"en_US": "Files from the app", "zh_Hans": "应用发送的文件"},
        "image_alt": {"en_US": "Image from the app", "zh_Hans": "应用发送的图片"},
        "download": {"en_US": "Download file ({type})", "zh_Hans": "下载文件（{type}）"},
        "app_error": {"en_US": "The app reported an error: {message}", "zh_Hans": "应用报告了错误：{message}"},
        "no_details": {"en_US": "no details", "zh_Hans": "无详细信息"},
    }
)

#: Duck's error messages in Chinese, by error code (English: the error's own message,
#: which names fields and limits exactly). Codes Duck cannot meet fall back to English.
ERRORS = i18n.Catalog(
    {
        "missing_api_key": {
            "en_US": "This endpoint needs an API key.",
            "zh_Hans": "此端点需要 API 密钥：请在地址中加上 ?key=<密钥>，或使用 Authorization: Bearer <密钥> 请求头。",
        },
        "invalid_api_key": {
            "en_US": "The API key is wrong.",
            "zh_Hans": "API 密钥不正确：请使用端点设置中配置的密钥。",
        },
        "missing_query": {"en_US": "Type a question.", "zh_Hans": "请输入问题：`query` 为空。"},
        "field_too_large": {
            "en_US": "A field is too long.",
            "zh_Hans": "问题或其他字段过长，请缩短后再试。",
        },
        "invalid_field": {
            "en_US": "A field is invalid.",
            "zh_Hans": "请求中的字段无效（`query` 和 `user` 须为文本，`conversation_id` 须为之前回答返回的 ID）。",
        },
        "invalid_json": {"en_US": "The body is not JSON.", "zh_Hans": "请求体不是有效的 UTF-8 JSON。"},
        "invalid_body": {"en_US": "The body is not an object.", "zh_Hans": "请求体必须是 JSON 对象。"},
        "app_not_configured": {
            "en_US": "No app is configured.",
            "zh_Hans": "此端点尚未正确配置：工作区所有者需要在 Dify 中检查端点的 `chat_app`、"
            "`keepalive_seconds` 和 `allowed_origins` 设置。",
        },
        "app_not_found": {
            "en_US": "The app was not found.",
            "zh_Hans": "在此工作区中找不到 `chat_app` 设置的应用，请在端点设置中选择其他应用。",
        },
        "app_wrong_type": {
            "en_US": "The app has the wrong type.",
            "zh_Hans": "`chat_app` 设置的应用类型不对，请选择聊天类应用。",
        },
        "conversation_not_found": {
            "en_US": "This conversation does not exist.",
            "zh_Hans": "此对话不存在（或属于其他应用）：请开始新的对话。",
        },
        "invalid_inputs": {"en_US": "The app rejected the request.", "zh_Hans": "应用拒绝了此请求。"},
        "app_permission_denied": {
            "en_US": "The plugin may not call apps.",
            "zh_Hans": "插件无权调用应用（其清单缺少应用权限）。",
        },
        "app_timeout": {"en_US": "The app did not answer in time.", "zh_Hans": "应用未能及时回答。"},
        "app_stream_failed": {"en_US": "The app failed while answering.", "zh_Hans": "应用在回答过程中出错。"},
        "app_failed": {"en_US": "The app could not be run.", "zh_Hans": "无法运行该应用。"},
    }
)


def error_message(error: EndpointError, lang: i18n.Language) -> str:
    """What the page says about `error`: its own (English) message, or its code's translation."""
    if lang == i18n.DEFAULT or error.code not in ERRORS:
        return error.message
    return ERRORS.text(lang, error.code)


new_nonce = render.new_nonce

#: No script at all; styles only from this response; images (the app's files) only
#: over http(s), and the page's inline icon; forms only back to us; never framed.
CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; img-src https: http: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def page_headers(nonce: str, lang: i18n.Language = i18n.DEFAULT) -> dict[str, str]:
    """The gallery's page headers (render.page_headers) with Duck's policy."""
    return render.page_headers(nonce, lang, CSP)


def _page() -> Any:
    """The macros of templates/duck.html."""
    return render.macros("duck.html")


def _tail() -> str:
    return str(render.macros("base.html").tail())


def form_page(
    nonce: str, key: str | None = None, message: str | None = None, lang: i18n.Language = i18n.DEFAULT
) -> str:
    """The page without a question: a form, and the reason if a request was refused."""
    t = TEXT.bind(lang)
    page = _page()
    note = page.error(message) if message else ""
    return str(page.top(nonce, lang, t) + note + page.form(t, None, key, t("placeholder"))) + _tail()


#: Called once the answer is complete, before the follow-up form is sent: the
#: conversation id the app gave, and the finished turn.
Remember = Callable[[str, Turn], None]


def answer_page(
    nonce: str,
    query: str,
    events: Iterator[dict[str, Any]],
    keepalive: float,
    key: str | None,
    *,
    lang: i18n.Language = i18n.DEFAULT,
    earlier: Sequence[Turn] = (),
    history_loaded: bool = True,
    remember: Remember | None = None,
    file_origin: str | None = None,
) -> Iterator[str]:
    """The page head and the earlier turns at once, then each answer delta as it
    arrives, then the rendered answer and the app's files, then a follow-up form
    carrying the conversation id. App failures end in a visible error block and a
    properly closed page (the partial answer stays plain text and is not remembered).
    `file_origin` resolves the app's file URLs that are paths (see conversations.safe_file)."""
    t = TEXT.bind(lang)
    page = _page()
    yield str(page.top(nonce, lang, t) + page.earlier(t, earlier, history_loaded) + page.question(query))
    conversation_id: str | None = None
    error: str | None = None
    replaced: str | None = None
    answer: list[str] = []
    kept = 0  # characters kept in `answer`: past MAX_RENDER_CHARS the answer is not rendered anyway
    files: list[File] = []
    try:
        # the deltas that arrived together go out as one piece (see pacing.keepalive_batches)
        for batch in keepalive_batches(events, keepalive):
            if batch is KEEPALIVE:
                yield "<!-- -->"
                continue
            pieces: list[str] = []
            for event in batch:
                conversation_id = event.get("conversation_id") or conversation_id
                kind = event.get("event")
                if kind in ("message", "agent_message"):
                    delta = str(event.get("answer", ""))
                    if kept <= markdown.MAX_RENDER_CHARS:
                        answer.append(delta)
                        kept += len(delta)
                    pieces.append(str(page.delta(delta)))
                elif kind == "message_replace":
                    replaced = str(event.get("answer", ""))
                elif kind == "message_file":
                    found = safe_file(event, file_origin)
                    if found is not None and len(files) < MAX_FILES:
                        files.append(found)
                elif kind == "error":
                    error = t("app_error", message=event.get("message") or t("no_details"))
            if pieces:
                yield "".join(pieces)
    except AppFailed as failure:
        error = error_message(failure, lang)
    yield str(page.answer_end())
    final = replaced if replaced is not None else "".join(answer)
    complete = error is None and kept <= markdown.MAX_RENDER_CHARS
    if complete and (final or replaced is not None):
        yield str(page.rendered(final, "rendered", t("replaced") if replaced is not None else None))
    yield str(page.files(t, files, "files"))
    if error is not None:
        yield str(page.error(error))
    elif remember is not None and conversation_id:
        cut = final if kept <= markdown.MAX_RENDER_CHARS else final + CUT_MARK
        remember(conversation_id, Turn(query=query, answer=cut, files=tuple(files)))
    yield str(page.form(t, conversation_id, key, t("follow_up"))) + _tail()
