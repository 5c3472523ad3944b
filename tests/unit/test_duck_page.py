"""provider.duck_page: the chat page streams safely, and carries only what it may."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from provider import duck_page
from provider.errors import AppFailed

NONCE = "n0nce"
HOSTILE = '<img src=x onerror=alert(1)> & "quoted"'


def page(events: list[dict[str, Any]], error: AppFailed | None = None, key: str | None = None) -> str:
    def source() -> Iterator[dict[str, Any]]:
        yield from events
        if error is not None:
            raise error

    return "".join(duck_page.answer_page(NONCE, "q?", source(), 5, key))


def test_the_apps_answer_and_the_question_are_shown_as_text() -> None:
    html = "".join(duck_page.answer_page(NONCE, HOSTILE, iter([{"event": "message", "answer": HOSTILE}]), 5, None))
    assert "<img" not in html
    # the question, the streamed plain answer, and its rendered Markdown
    assert html.count("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;") == 3


def test_the_follow_up_form_carries_the_conversation_and_the_key() -> None:
    html = page([{"event": "message", "answer": "hi", "conversation_id": "c-1"}], key="k3y")
    assert '<input type="hidden" name="conversation_id" value="c-1">' in html
    assert '<input type="hidden" name="key" value="k3y">' in html
    assert html.rstrip().endswith("</html>")


def test_a_refusal_page_without_a_proven_key_carries_none() -> None:
    html = duck_page.form_page(NONCE, None, "The API key is wrong.")
    assert 'name="key"' not in html
    assert "The API key is wrong." in html


def test_an_app_failure_ends_in_an_error_block_and_a_closed_page() -> None:
    html = page([{"event": "message", "answer": "par"}], AppFailed("The app failed while answering."))
    assert '<div class="answer" id="answer">par</div>' in html
    assert '<div class="error" role="alert">The app failed while answering.</div>' in html
    assert html.rstrip().endswith("</html>")


def test_the_page_allows_no_script() -> None:
    csp = duck_page.page_headers(NONCE)["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert f"'nonce-{NONCE}'" in csp


def test_an_app_failure_message_is_escaped_in_the_error_block() -> None:
    html = page([], AppFailed(HOSTILE))
    assert "<img" not in html
    assert '<div class="error" role="alert">&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;</div>' in html


def test_an_app_error_event_is_escaped_in_the_error_block() -> None:
    html = page([{"event": "error", "message": HOSTILE}])
    assert "<img" not in html
    assert "The app reported an error: &lt;img src=x onerror=alert(1)&gt;" in html


def test_a_replaced_answer_is_escaped() -> None:
    html = page([{"event": "message", "answer": "draft"}, {"event": "message_replace", "answer": HOSTILE}])
    assert "<img" not in html
    assert (
        '<div class="rendered" id="rendered"><p class="note">The app replaced its answer with:</p>'
        "<p>&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;</p>\n</div>"
    ) in html


def test_the_conversation_id_is_escaped_in_the_follow_up_form() -> None:
    html = page([{"event": "message", "answer": "hi", "conversation_id": '"><img src=x>'}])
    assert "<img" not in html
    assert 'name="conversation_id" value="&quot;&gt;&lt;img src=x&gt;"' in html


def test_silence_is_filled_with_invisible_keep_alives() -> None:
    def slow() -> Iterator[dict[str, Any]]:
        yield {"event": "message", "answer": "a"}
        time.sleep(0.5)
        yield {"event": "message", "answer": "b"}

    pieces = list(duck_page.answer_page(NONCE, "q?", slow(), 0.1, None))
    between = pieces[pieces.index("a") + 1 : pieces.index("b")]
    assert between
    assert set(between) == {"<!-- -->"}


def test_the_page_headers_forbid_framing_referrers_and_inline_styles() -> None:
    headers = duck_page.page_headers(NONCE)
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    directives = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert directives["style-src"] == f"'nonce-{NONCE}'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
