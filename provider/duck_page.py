"""The Duck page: HTML streamed as the chat app answers.

Everything that comes from the app or the visitor is HTML-escaped: an answer
containing `<img src=x onerror=...>` must show as text, not run as script (the
docs' example injects it raw). A strict Content-Security-Policy backs this up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from html import escape
from typing import Any

from provider.errors import AppFailed
from provider.pacing import KEEPALIVE, keepalive_batches

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#fafaf7;color:#1d1d1b}
main{max-width:42rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.4rem}.question{font-weight:600;margin:1.5rem 0 .25rem}
.answer{white-space:pre-wrap;background:#fff;border:1px solid #e3e3dc;border-radius:.5rem;padding:.75rem 1rem;
min-height:1.5rem}
.error{background:#fff1f0;border:1px solid #f0b5ae;color:#8a1c10;border-radius:.5rem;padding:.75rem 1rem;
margin-top:1rem}
.note{color:#6b6b66;font-size:.9rem}form{margin-top:1.5rem;display:flex;gap:.5rem}
input[type=text]{flex:1;padding:.5rem;font:inherit}button{padding:.5rem 1rem;font:inherit}
"""


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def page_headers(nonce: str) -> dict[str, str]:
    """No script at all; styles only from this response; forms only back to us."""
    csp = f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    return {"Content-Security-Policy": csp, "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def _head(nonce: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>Duck</title><style nonce="{nonce}">{_STYLE}</style></head>'
        "<body><main><h1>🦆 Duck</h1>\n"
    )


def _form(conversation_id: str | None, key: str | None, placeholder: str) -> str:
    hidden = ""
    if conversation_id:
        hidden += f'<input type="hidden" name="conversation_id" value="{escape(conversation_id)}">'
    if key:
        hidden += f'<input type="hidden" name="key" value="{escape(key)}">'
    return (
        '<form method="post" action="duck" class="ask">'
        f'<input type="text" name="query" placeholder="{escape(placeholder)}" required autofocus>'
        f'{hidden}<button type="submit">Ask</button></form>'
    )


_TAIL = "</main></body></html>\n"


def form_page(nonce: str, key: str | None = None, message: str | None = None) -> str:
    """The page without a question: a form, and the reason if a request was refused."""
    note = f'<div class="error" role="alert">{escape(message)}</div>' if message else ""
    return _head(nonce) + note + _form(None, key, "Ask the duck anything") + _TAIL


def answer_page(
    nonce: str, query: str, events: Iterator[dict[str, Any]], keepalive: float, key: str | None
) -> Iterator[str]:
    """The page head at once, then each answer delta as it arrives, then a follow-up
    form carrying the conversation id. App failures end in a visible error block and
    a properly closed page."""
    yield _head(nonce) + f'<p class="question">{escape(query)}</p><div class="answer" id="answer">'
    conversation_id: str | None = None
    error: str | None = None
    replaced: str | None = None
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
                    pieces.append(escape(str(event.get("answer", ""))))
                elif kind == "message_replace":
                    replaced = str(event.get("answer", ""))
                elif kind == "error":
                    error = f"The app reported an error: {event.get('message') or 'no details'}"
            if pieces:
                yield "".join(pieces)
    except AppFailed as failure:
        error = failure.message
    yield "</div>"
    if replaced is not None:
        yield f'<p class="note">The app replaced its answer with:</p><div class="answer">{escape(replaced)}</div>'
    if error is not None:
        yield f'<div class="error" role="alert">{escape(error)}</div>'
    yield _form(conversation_id, key, "Ask a follow-up question") + _TAIL
