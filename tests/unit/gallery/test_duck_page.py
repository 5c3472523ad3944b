"""gallery.duck_page: the chat page streams safely, and carries only what it may."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from gallery import duck_page, markdown, render
from gallery.conversations import CUT_MARK, File, Turn
from provider.errors import AppFailed, EndpointError

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
    # (Jinja writes a quote as &#34;, markdown-it-py as &quot;: the same character)
    assert html.replace("&#34;", "&quot;").count("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;") == 3


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
    assert '<div class="error" role="alert">&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quoted&#34;</div>' in html


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
    assert 'name="conversation_id" value="&#34;&gt;&lt;img src=x&gt;"' in html


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
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"  # one visitor's answer is kept by no cache
    directives = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert directives["style-src"] == f"'nonce-{NONCE}'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


# -- issue #9: the rendered answer, the conversation, the language --


def test_the_rendered_answer_directly_follows_the_plain_one_which_css_then_hides() -> None:
    html = page([{"event": "message", "answer": "**bold**"}])
    assert '<div class="answer" id="answer">**bold**</div><div class="rendered" id="rendered">' in html
    assert "<strong>bold</strong>" in html
    assert ".answer:has(+ .rendered){display:none}" in render.asset("duck.css")


def test_keep_alives_stay_in_the_plain_block_and_out_of_the_rendered_one() -> None:
    def slow() -> Iterator[dict[str, Any]]:
        yield {"event": "message", "answer": "a"}
        time.sleep(0.3)
        yield {"event": "message", "answer": "b"}

    html = "".join(duck_page.answer_page(NONCE, "q?", slow(), 0.1, None))
    plain, rendered = html.split('<div class="rendered" id="rendered">')
    assert "<!-- -->" in plain
    assert rendered.startswith("<p>ab</p>")


def test_an_answer_too_long_to_render_stays_plain_and_is_remembered_cut() -> None:
    remembered: list[tuple[str, Turn]] = []
    long = "x" * (markdown.MAX_RENDER_CHARS + 5000)
    events = [
        {"event": "message", "answer": long[i : i + 1000], "conversation_id": "c"} for i in range(0, len(long), 1000)
    ]
    html = "".join(
        duck_page.answer_page(NONCE, "q", iter(events), 5, None, remember=lambda c, t: remembered.append((c, t)))
    )
    assert 'id="rendered"' not in html
    assert long in html
    ((conversation, turn),) = remembered
    assert conversation == "c"
    assert turn.answer.endswith(CUT_MARK)
    assert len(turn.answer) < len(long)


def test_earlier_turns_are_rendered_and_escaped_above_the_question() -> None:
    earlier = [Turn(HOSTILE, "- *a*\n- " + HOSTILE, (File("image", 'https://e.com/"><x'),))]
    html = "".join(duck_page.answer_page(NONCE, "now?", iter([]), 5, None, earlier=earlier))
    assert "<img src=x" not in html
    assert html.index('id="turns"') < html.index('<p class="question">now?</p>')
    assert "<li><em>a</em></li>" in html
    assert '<img src="https://e.com/&#34;&gt;&lt;x"' in html


def test_an_app_error_is_not_remembered_as_a_turn() -> None:
    remembered: list[Turn] = []
    events = iter([{"event": "message", "answer": "a", "conversation_id": "c"}, {"event": "error", "message": "x"}])
    list(duck_page.answer_page(NONCE, "q", events, 5, None, remember=lambda c, t: remembered.append(t)))
    assert remembered == []


def test_the_csp_allows_web_images_and_still_no_script_or_inline_style() -> None:
    csp = duck_page.page_headers(NONCE)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["img-src"] == "https: http: data:"  # data: for the page's inline icon
    assert "script-src" not in csp
    assert "unsafe" not in csp


@pytest.mark.parametrize("code", sorted(duck_page.ERRORS._messages))
def test_every_error_code_has_a_chinese_message_and_keeps_its_english_one(code: str) -> None:
    error = EndpointError("The English message.", code=code)
    assert duck_page.error_message(error, "en_US") == "The English message."
    chinese = duck_page.error_message(error, "zh_Hans")
    assert chinese != "The English message."
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    assert error.code == code


def test_an_unknown_error_code_falls_back_to_its_english_message() -> None:
    assert duck_page.error_message(EndpointError("Plain.", code="something_new"), "zh_Hans") == "Plain."


def test_the_chinese_page_is_marked_as_chinese() -> None:
    html = "".join(duck_page.answer_page(NONCE, "q", iter([]), 5, None, lang="zh_Hans"))
    assert html.startswith('<!doctype html><html lang="zh-Hans">')
    assert 'placeholder="继续追问"' in html
    assert duck_page.page_headers(NONCE, "zh_Hans")["Content-Language"] == "zh-Hans"


def test_the_csp_sends_forms_only_back_and_forbids_base_and_framing() -> None:
    assert duck_page.page_headers(NONCE)["Content-Security-Policy"] == (
        f"default-src 'none'; style-src 'nonce-{NONCE}'; img-src https: http: data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def test_the_chinese_pages_head_and_form_are_in_chinese() -> None:
    html = "".join(duck_page.answer_page(NONCE, "q", iter([]), 5, None, lang="zh_Hans"))
    assert "<title>Duck 鸭子</title>" in html
    form = duck_page.form_page(NONCE, lang="zh_Hans")
    assert "<title>Duck 鸭子</title>" in form
    assert 'placeholder="问鸭子任何问题"' in form


def test_an_earlier_answer_too_long_to_render_is_shown_as_escaped_plain_text() -> None:
    long = "<b>" + "x" * markdown.MAX_RENDER_CHARS
    html = "".join(duck_page.answer_page(NONCE, "q", iter([]), 5, None, earlier=[Turn("old", long)]))
    assert f'<div class="rendered plain">&lt;b&gt;{"x" * markdown.MAX_RENDER_CHARS}</div>' in html


def test_earlier_turns_and_files_follow_each_other_directly() -> None:
    earlier = [
        Turn("one", "a", (File("pdf", "https://e.com/1.pdf"), File("pdf", "https://e.com/2.pdf"))),
        Turn("two", "b"),
    ]
    html = "".join(duck_page.answer_page(NONCE, "q", iter([]), 5, None, earlier=earlier))
    rel = markdown.LINK_REL
    assert (
        f'<li><a href="https://e.com/1.pdf" target="_blank" rel="{rel}" download>Download file (pdf)</a></li>'
        f'<li><a href="https://e.com/2.pdf" target="_blank" rel="{rel}" download>Download file (pdf)</a></li></ul>'
        '</article><article class="turn"><p class="question">two</p>'
    ) in html


def test_an_answer_of_exactly_the_longest_renderable_length_is_rendered_and_remembered_whole() -> None:
    remembered: list[Turn] = []
    answer = "x" * markdown.MAX_RENDER_CHARS
    events = iter([{"event": "message", "answer": answer, "conversation_id": "c"}])
    html = "".join(duck_page.answer_page(NONCE, "q", events, 5, None, remember=lambda c, t: remembered.append(t)))
    assert f'<div class="rendered" id="rendered"><p>{answer}</p>\n</div>' in html
    assert remembered == [Turn("q", answer)]


def test_an_answer_replaced_with_nothing_shows_an_empty_replacement() -> None:
    remembered: list[Turn] = []
    events = iter([{"event": "message", "answer": "draft", "conversation_id": "c"}, {"event": "message_replace"}])
    html = "".join(duck_page.answer_page(NONCE, "q", events, 5, None, remember=lambda c, t: remembered.append(t)))
    assert '<div class="rendered" id="rendered"><p class="note">The app replaced its answer with:</p></div>' in html
    assert remembered == [Turn("q", "")]


def test_an_answer_without_text_has_no_rendered_block() -> None:
    html = page([{"event": "message_end", "conversation_id": "c"}])
    assert 'id="rendered"' not in html


def test_at_most_max_files_of_the_app_are_shown() -> None:
    events = [{"event": "message_file", "type": "pdf", "url": f"https://e.com/{n}.pdf"} for n in range(12)]
    html = page(events)
    assert html.count("<li>") == duck_page.MAX_FILES
    assert "https://e.com/9.pdf" in html
    assert "https://e.com/10.pdf" not in html
