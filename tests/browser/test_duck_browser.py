"""The Duck page in a real Chromium: progressive rendering, conversations, Markdown,
hostile answers, phone width, and the page without JavaScript."""

from __future__ import annotations

from playwright.sync_api import Page

from dify_plugin_devkit._apps.scripts import tokenize
from tests.browser.apps import (
    HOSTILE_PIECES,
    LONG_LINE,
    PACED_FIRST_WORDS,
    PACED_LAST_WORD,
    PACED_MARKDOWN,
    TOKEN_DELAY,
    UNICODE,
)
from tests.browser.conftest import PHONE, PageFactory, Site, Watched, screenshot, scrolls_sideways

#: How long the paced app takes from its first word to its last (it sleeps between words).
PACED_STREAM_SECONDS = (len(tokenize(PACED_MARKDOWN)) - 1) * TOKEN_DELAY


def _text(page: Page, selector: str) -> str:
    return page.locator(selector).first.text_content() or ""


def _ask_follow_up(page: Page, query: str) -> None:
    """Type a follow-up into the page's own form and send it, as a visitor does."""
    form = page.locator("form.ask")
    form.locator("[name=query]").fill(query)
    with page.expect_navigation(wait_until="load"):
        form.locator("[type=submit]").click()


def test_first_words_are_visible_while_the_app_is_still_streaming(site: Site, page: Watched) -> None:
    p = page.page
    p.goto(site.url("b", "/duck?query=tell+me"), wait_until="commit")
    # one look at the page, taken (atomically, in the page) as soon as the first words show
    seen = p.wait_for_function(
        """(words) => {
             const answer = document.getElementById("answer")?.textContent || "";
             return answer.includes(words) && {readyState: document.readyState, body: document.body.textContent,
                                               at: performance.now()};
           }""",
        arg=PACED_FIRST_WORDS,
    ).json_value()
    # the document was still being received: the app had not sent its last word yet
    assert seen["readyState"] == "loading"
    assert PACED_LAST_WORD not in seen["body"]
    p.wait_for_load_state("load")
    # the page finished only after the app's pacing ran on (a buffered page ends at once),
    # timed on the page's own clock: when its last byte came, not when this test looked
    last_byte_at = p.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
    assert (last_byte_at - seen["at"]) / 1000 > PACED_STREAM_SECONDS / 4
    assert PACED_LAST_WORD in _text(p, "#answer")


def test_the_whole_answer_arrives_and_is_rendered_as_markdown_once_complete(site: Site, page: Watched) -> None:
    p = page.page
    p.goto(site.url("b", "/duck?query=facts"), wait_until="load")
    # the streamed plain text is the whole answer, exactly
    assert _text(p, "#answer").strip() == PACED_MARKDOWN.strip()
    # the rendered version replaces it
    rendered = p.locator("#rendered")
    assert rendered.is_visible()
    assert not p.locator("#answer").is_visible()
    assert rendered.locator("h2").text_content() == "Duck facts"
    assert rendered.locator("li").all_text_contents() == ["ducks swim well", "ducks fly south", "ducks quack loudly"]
    assert rendered.locator("strong").first.text_content() == "swim"
    assert rendered.locator("em").first.text_content() == "fly"
    assert rendered.locator("table td").all_text_contents() == ["mallard", "green"]
    assert 'print("quack")' in (rendered.locator("pre code").text_content() or "")
    link = rendered.locator("a", has_text="the pond")
    assert link.get_attribute("href") == "https://example.com/pond"
    assert set((link.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer", "nofollow"}
    assert page.problems() == []


def test_a_follow_up_shows_the_earlier_turn_above_the_new_answer(site: Site, open_page: PageFactory) -> None:
    page = open_page()
    p = page.page
    p.goto(site.url("echo", "/duck?query=first+question"), wait_until="load")
    assert "Turn 1: first question" in _text(p, "#rendered")
    _ask_follow_up(p, "second question")
    earlier = p.locator("#turns article.turn")
    assert earlier.count() == 1
    assert earlier.locator("p.question").text_content() == "first question"
    assert "Turn 1: first question" in (earlier.locator(".rendered").text_content() or "")
    assert "Turn 2: second question" in _text(p, "#rendered")
    # the earlier turn comes first in the page
    turn_1 = earlier.bounding_box()
    turn_2 = p.locator("#rendered").bounding_box()
    assert turn_1 is not None
    assert turn_2 is not None
    assert turn_1["y"] < turn_2["y"]
    assert page.problems() == []
    screenshot(p, "duck-follow-up-1280")
    p.set_viewport_size(PHONE)
    assert not scrolls_sideways(p)
    screenshot(p, "duck-follow-up-360")


def test_hostile_answers_show_as_text_and_run_nothing(site: Site, open_page: PageFactory) -> None:
    page = open_page(viewport=PHONE)
    p = page.page
    p.goto(site.url("hostile", "/duck?query=be+hostile"), wait_until="load")
    rendered = p.locator("#rendered")
    shown = rendered.text_content() or ""
    for piece in HOSTILE_PIECES:
        assert piece in shown, piece
    assert UNICODE in shown
    # the plain block streamed before it holds the same pieces, as text too
    streamed = _text(p, "#answer")
    assert all(piece in streamed for piece in HOSTILE_PIECES)
    assert LONG_LINE in shown
    # nothing ran, nothing was injected, nothing broke out of the answer
    assert p.evaluate("window.__pwned") is None
    assert rendered.locator("script, img, svg, a[href^='javascript:' i]").count() == 0
    assert p.locator("a[href^='javascript:' i], [onerror], [onload]").count() == 0
    assert rendered.locator("strong").text_content() == "bold after all that"
    assert p.locator("form.ask").is_visible()  # `</div></section>` closed nothing: the form is still there
    # the 10,000-character line wraps: no sideways scrolling on a phone
    assert not scrolls_sideways(p)
    assert page.problems() == []


def test_the_page_works_with_javascript_disabled(site: Site, open_page: PageFactory) -> None:
    page = open_page(java_script_enabled=False)
    p = page.page
    # the echo app answers "Turn n: <question>", so Markdown in the question is Markdown in the answer
    p.goto(site.url("echo", "/duck?query=**no**+script"), wait_until="load")
    # the rendered Markdown replaces the plain stream by HTML and CSS alone
    assert p.locator("#rendered").is_visible()
    assert not p.locator("#answer").is_visible()
    assert p.locator("#rendered strong").text_content() == "no"
    # and the follow-up form works as a plain HTML form
    _ask_follow_up(p, "and *then*")
    assert p.locator("#turns article.turn").count() == 1
    assert p.locator("#turns p.question").text_content() == "**no** script"
    assert p.locator("#rendered em").text_content() == "then"
    assert "Turn 2:" in _text(p, "#rendered")
    assert page.problems() == []
