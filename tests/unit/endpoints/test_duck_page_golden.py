"""The Duck page's exact markup for a fixed nonce: what browsers get must not drift silently
(provider.duck_page; the behaviour is tested in tests/unit/test_duck_page.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from provider import duck_page

HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    f'<title>Duck</title><style nonce="N0NCE">{duck_page._STYLE}</style></head>'
    "<body><main><h1>🦆 Duck</h1>\n"
)
TAIL = "</main></body></html>\n"


def events(*items: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from items


def test_nonce_is_fresh_and_long() -> None:
    nonces = {duck_page.new_nonce() for _ in range(5)}
    assert len(nonces) == 5
    assert all(len(nonce) == 22 for nonce in nonces)  # token_urlsafe(16): 128 bits


def test_form_page_exact() -> None:
    assert duck_page.form_page("N0NCE") == (
        HEAD + '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask the duck anything" required autofocus>'
        '<button type="submit">Ask</button></form>' + TAIL
    )


def test_form_page_with_message_and_key_exact() -> None:
    assert duck_page.form_page("N0NCE", "k<", "Bad & wrong") == (
        HEAD + '<div class="error" role="alert">Bad &amp; wrong</div>'
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask the duck anything" required autofocus>'
        '<input type="hidden" name="key" value="k&lt;"><button type="submit">Ask</button></form>' + TAIL
    )


def test_answer_page_exact() -> None:
    page = "".join(
        duck_page.answer_page(
            "N0NCE",
            "Q?",
            events(
                {"event": "agent_message", "answer": "a<", "conversation_id": "c-1"},
                {"event": "message"},
                {"event": "message_replace"},
                {"event": "error"},
                {"event": "message_end", "conversation_id": None},
            ),
            60,
            "k",
        )
    )
    assert page == (
        HEAD + '<p class="question">Q?</p><div class="answer" id="answer">'
        "a&lt;"
        "</div>"
        '<p class="note">The app replaced its answer with:</p><div class="answer"></div>'
        '<div class="error" role="alert">The app reported an error: no details</div>'
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask a follow-up question" required autofocus>'
        '<input type="hidden" name="conversation_id" value="c-1">'
        '<input type="hidden" name="key" value="k"><button type="submit">Ask</button></form>' + TAIL
    )


def test_answer_page_without_replace_or_error_has_neither_block() -> None:
    page = "".join(duck_page.answer_page("N0NCE", "Q", events({"event": "message", "answer": "x"}), 60, None))
    assert page == (
        HEAD + '<p class="question">Q</p><div class="answer" id="answer">x</div>'
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask a follow-up question" required autofocus>'
        '<button type="submit">Ask</button></form>' + TAIL
    )
