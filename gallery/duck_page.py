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
from typing import Any, Final

from gallery import markdown, render
from gallery.conversations import CUT_MARK, MAX_FILES, File, Turn, safe_file
from provider import i18n
from provider.apps import RunEnd
from provider.errors import AppFailed, EndpointError
from provider.pacing import KEEPALIVE, keepalive_batches

#: The page's text (templates/duck.html), checked for every language when this module loads.
TEXT: Final = i18n.Catalog(render.macros("duck.html").TEXT)

#: Duck's error messages in Chinese, by error code (templates/duck.html); English: the
#: error's own message, which names fields and limits exactly.
ERRORS: Final = i18n.Catalog(render.macros("duck.html").ERRORS)


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


def _failed_run(event: dict[str, Any], t: Callable[..., str]) -> str | None:
    """The error of a chatflow run that ended without usable outputs, else None. Dify
    1.13.2's inner API sends `workflow_finished` (status "failed", `data.error`) and then
    an `error` event (recorded: real-dify-1.13.2/inner-api/inner_chat_fail_stream), whose
    wording replaces this one; the Service API closes the stream at `workflow_finished`
    and never sends that `error` event (its chat_fail_stream), so the run's own status is
    what keeps a half answer from being shown, and remembered, as a whole one."""
    end = RunEnd.of(event.get("data"))
    if end.usable:
        return None
    return t("app_error", message=end.error or t("no_details"))


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
                elif kind == "workflow_finished" and error is None:
                    error = _failed_run(event, t)
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
