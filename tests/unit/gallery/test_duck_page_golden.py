"""The Duck page's exact markup for a fixed nonce: what browsers get must not drift silently
(gallery.duck_page; the behaviour is tested in tests/unit/gallery/test_duck_page.py).

Changed on purpose for issue #9 (a conversation page): the question box has an
`aria-label`, a complete answer is followed by its rendered Markdown (`#rendered`),
and a failed answer is not rendered (the error block says why). Changed on purpose for
issue #18 (pages from Jinja2 templates): the head declares an inline icon, so that no
browser asks for /favicon.ico; everything else is byte for byte as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gallery import duck_page, render
from gallery.conversations import File, Turn

HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
    f'<title>Duck</title><style nonce="N0NCE">{render.asset("duck.css")}</style></head>'
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
        '<input type="text" name="query" placeholder="Ask the duck anything" aria-label="Your question" '
        "required autofocus>"
        '<button type="submit">Ask</button></form>' + TAIL
    )


def test_form_page_with_message_and_key_exact() -> None:
    assert duck_page.form_page("N0NCE", "k<", "Bad & wrong") == (
        HEAD + '<div class="error" role="alert">Bad &amp; wrong</div>'
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask the duck anything" aria-label="Your question" '
        "required autofocus>"
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
        '<div class="error" role="alert">The app reported an error: no details</div>'
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask a follow-up question" aria-label="Your question" '
        "required autofocus>"
        '<input type="hidden" name="conversation_id" value="c-1">'
        '<input type="hidden" name="key" value="k"><button type="submit">Ask</button></form>' + TAIL
    )


def test_answer_page_without_replace_or_error_has_neither_block() -> None:
    page = "".join(duck_page.answer_page("N0NCE", "Q", events({"event": "message", "answer": "x"}), 60, None))
    assert page == (
        HEAD + '<p class="question">Q</p><div class="answer" id="answer">x</div>'
        '<div class="rendered" id="rendered"><p>x</p>\n</div>'
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask a follow-up question" aria-label="Your question" '
        "required autofocus>"
        '<button type="submit">Ask</button></form>' + TAIL
    )


def test_conversation_page_exact() -> None:
    earlier = [Turn("q1", "# A\n\n- b", (File("image", "https://e.com/x.png"),))]
    page = "".join(
        duck_page.answer_page(
            "N0NCE",
            "Q",
            events(
                {"event": "message", "answer": "**x**", "conversation_id": "c-1"},
                {"event": "message_file", "type": "document", "url": "https://e.com/d.pdf"},
                {"event": "message_replace", "answer": "*y*"},
            ),
            60,
            None,
            earlier=earlier,
        )
    )
    rel = 'target="_blank" rel="noopener noreferrer nofollow"'
    assert page == (
        HEAD + '<section class="turns" id="turns" aria-label="Earlier in this conversation">'
        '<article class="turn"><p class="question">q1</p>'
        '<div class="rendered"><h1>A</h1>\n<ul>\n<li>b</li>\n</ul>\n</div>'
        f'<ul class="files" aria-label="Files from the app"><li><a href="https://e.com/x.png" {rel}>'
        '<img src="https://e.com/x.png" alt="Image from the app" loading="lazy"></a></li></ul></article></section>\n'
        '<p class="question">Q</p><div class="answer" id="answer">**x**</div>'
        '<div class="rendered" id="rendered"><p class="note">The app replaced its answer with:</p>'
        "<p><em>y</em></p>\n</div>"
        '<ul class="files" id="files" aria-label="Files from the app">'
        f'<li><a href="https://e.com/d.pdf" {rel} download>'
        "Download file (document)</a></li></ul>"
        '<form method="post" action="duck" class="ask">'
        '<input type="text" name="query" placeholder="Ask a follow-up question" aria-label="Your question" '
        "required autofocus>"
        '<input type="hidden" name="conversation_id" value="c-1"><button type="submit">Ask</button></form>' + TAIL
    )
