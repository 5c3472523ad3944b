"""GET/POST /duck: the chat app's answer streamed into an HTML page, safely."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from dify_plugin_devkit.testing import RunningDevkit

CONVERSATION = re.compile(r'name="conversation_id" value="([0-9a-f-]{36})"')


def duck(gallery: RunningDevkit, client: httpx.Client, hook: str = "open", **params: str) -> httpx.Response:
    return client.get(gallery.url(hook, "/duck"), params=params)


def test_without_a_question_shows_the_form(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form method="post" action="duck"' in page.text
    assert 'name="query"' in page.text


def test_page_sends_a_restrictive_content_security_policy(gallery: RunningDevkit, client: httpx.Client) -> None:
    csp = duck(gallery, client, query="hi").headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # no script source at all
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_answer_is_streamed_into_a_complete_page(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client, query="hello duck")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"  # a visitor's answer: no cache keeps it (issue #18)
    assert page.headers["x-accel-buffering"] == "no"
    assert '<div class="answer" id="answer">Turn 1: hello duck</div>' in page.text
    assert page.text.rstrip().endswith("</html>")
    assert CONVERSATION.search(page.text)


def test_page_head_arrives_before_the_apps_first_event(gallery: RunningDevkit) -> None:
    """gallery-slow-chat waits a minute before its first event; the head must not wait."""
    with (
        httpx.Client(timeout=15) as client,
        client.stream("GET", gallery.url("slow", "/duck"), params={"query": "hi"}) as page,
    ):
        first = next(page.iter_text())
    assert first.startswith("<!doctype html>")
    assert 'class="answer"' in first


def silent_page_until(gallery: RunningDevkit, marker: str) -> str:
    """The `silent` instance's Duck page as far as `marker` (gallery-silent-chat says
    "hello" and then never ends, so the page stays open: read only what is needed)."""
    seen = ""
    with (
        httpx.Client(timeout=15) as client,
        client.stream("GET", gallery.url("silent", "/duck"), params={"query": "hi"}) as page,
    ):
        for text in page.iter_text():
            seen += text
            if marker in seen:
                break
    return seen


def test_each_delta_is_visible_before_the_app_finishes(gallery: RunningDevkit) -> None:
    """gallery-silent-chat sends "hello" and then never ends."""
    seen = silent_page_until(gallery, 'id="answer">hello')
    assert 'id="answer">hello' in seen
    assert "there" not in seen


def test_follow_up_form_continues_the_conversation(gallery: RunningDevkit, client: httpx.Client) -> None:
    first = duck(gallery, client, query="hello")
    conversation_id = CONVERSATION.search(first.text).group(1)
    second = client.post(gallery.url("open", "/duck"), data={"query": "again", "conversation_id": conversation_id})
    assert 'id="answer">Turn 2: again</div>' in second.text
    assert CONVERSATION.search(second.text).group(1) == conversation_id


def test_post_accepts_json(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = client.post(gallery.url("open", "/duck"), json={"query": "from json"})
    assert page.status_code == 200
    assert 'id="answer">Turn 1: from json</div>' in page.text


def test_hostile_answer_is_shown_as_text(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client, "hostile", query="hi")
    assert "<img" not in page.text
    assert "<script>alert" not in page.text
    # the rendered Markdown (markdown-it-py writes a quote as &quot;) and the streamed text (Jinja: &#34;)
    assert (
        "&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(2)&lt;/script&gt; &amp; &quot;quoted&quot;" in page.text
    )
    assert (
        "&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(2)&lt;/script&gt; &amp; &#34;quoted&#34;" in page.text
    )


def test_hostile_question_is_shown_as_text(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client, query='"><script>alert(1)</script>')
    assert "<script>alert" not in page.text
    assert '<p class="question">&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>' in page.text


@pytest.mark.parametrize("hook", ["agent", "chatflow"])
def test_agent_and_chatflow_answers_are_shown(gallery: RunningDevkit, client: httpx.Client, hook: str) -> None:
    assert 'id="answer">Turn 1: hi</div>' in duck(gallery, client, hook, query="hi").text


def test_url_cannot_choose_another_app(gallery: RunningDevkit, client: httpx.Client) -> None:
    before = gallery.app_calls().get("demo-chat-answer", 0)
    page = duck(gallery, client, query="hi", app_id="demo-chat-answer", app="demo-chat-answer")
    assert 'id="answer">Turn 1: hi</div>' in page.text  # still the configured echo app
    assert gallery.app_calls().get("demo-chat-answer", 0) == before


def test_app_failing_mid_stream_ends_in_an_error_block_and_a_closed_page(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    page = duck(gallery, client, "failing", query="hi")
    assert page.status_code == 200
    assert (
        '<div class="error" role="alert">The app reported an error: '
        "The model provider returned an error (simulated).</div>"
    ) in page.text
    assert page.text.rstrip().endswith("</html>")


def test_app_failing_at_the_start_ends_in_an_error_block(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client, "failing-early", query="hi")
    assert '<div class="answer" id="answer"></div>' in page.text
    assert '<div class="error" role="alert">The app failed while answering.</div>' in page.text
    assert page.text.rstrip().endswith("</html>")


def test_missing_app_says_which_setting_to_fix(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client, "missing", query="hi")
    assert "The app set in `chat_app` was not found in this workspace" in page.text


def test_unconfigured_app_is_503_naming_the_setting(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = duck(gallery, client, "empty", query="hi")
    assert page.status_code == 503
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "`chat_app` setting" in page.text


@pytest.mark.parametrize(
    ("send", "message"),
    [
        ({"data": {"query": "   "}}, "Type a question: `query` is empty."),
        ({"json": {"query": ""}}, "Type a question: `query` is empty."),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            "The request body is not valid JSON",
        ),
        ({"json": ["a", "list"]}, "must be a JSON object"),
        ({"json": {"query": 42}}, "`query` must be a string."),
        ({"json": {"query": "x" * 16001}}, "The question is too long (16001 characters; at most 16000)."),
        ({"json": {"query": "hi", "conversation_id": "not-a-uuid"}}, "`conversation_id` must be the id returned"),
    ],
)
def test_bad_post_is_400_html_saying_what_to_fix(
    gallery: RunningDevkit, client: httpx.Client, send: dict, message: str
) -> None:
    before = gallery.app_calls()
    page = client.post(gallery.url("open", "/duck"), **send)
    assert page.status_code == 400
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert message in page.text
    assert '<form method="post"' in page.text  # so the visitor can try again
    assert gallery.app_calls() == before


def test_silence_is_filled_with_invisible_keep_alives(gallery: RunningDevkit) -> None:
    """gallery-silent-chat says "hello" then nothing; keepalive_seconds is 1 on `silent`."""
    seen = silent_page_until(gallery, "<!-- -->")
    assert 'id="answer">hello<!-- -->' in seen


@pytest.mark.parametrize(
    ("hook", "params", "status"),
    [
        ("open", {"query": "hi"}, 200),
        ("open", {}, 200),
        ("open", {"query": " "}, 400),
        ("locked", {"query": "hi"}, 401),
    ],
)
def test_every_page_forbids_framing_referrers_and_inline_styles(
    gallery: RunningDevkit, client: httpx.Client, hook: str, params: dict[str, str], status: int
) -> None:
    page = duck(gallery, client, hook, **params)
    assert page.status_code == status
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    directives = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{16,}'", directives["style-src"])
    assert directives["default-src"] == "'none'"
    if status != 200:
        assert page.headers["cache-control"] == "no-store"


# -- issue #9: a conversation page (turns in the plugin's storage, Markdown, files, language) --


def stored_turns(gallery: RunningDevkit, conversation_id: str) -> list[dict]:
    """The turns the plugin keeps for a conversation of the echo app, read from the devkit's storage."""
    key = f"duck/conversations/demo-chat-echo/{conversation_id}"
    (entry,) = [e for e in gallery.storage()["keys"] if e["key"] == key]
    return json.loads(bytes.fromhex(entry["value"]))["turns"]


def test_a_follow_up_shows_turn_1_and_turn_2(gallery: RunningDevkit, client: httpx.Client) -> None:
    first = duck(gallery, client, query="hello")
    conversation_id = CONVERSATION.search(first.text).group(1)
    second = client.post(gallery.url("open", "/duck"), data={"query": "again", "conversation_id": conversation_id})
    page = second.text
    turns = page.index('<section class="turns" id="turns"')
    assert turns < page.index('<p class="question">hello</p>') < page.index("<p>Turn 1: hello</p>")
    assert page.index("<p>Turn 1: hello</p>") < page.index('<p class="question">again</p>')
    assert page.index('<p class="question">again</p>') < page.index('id="answer">Turn 2: again</div>')
    assert '<div class="rendered" id="rendered"><p>Turn 2: again</p>' in page
    assert stored_turns(gallery, conversation_id) == [
        {"query": "hello", "answer": "Turn 1: hello", "files": []},
        {"query": "again", "answer": "Turn 2: again", "files": []},
    ]


def test_storage_keeps_only_the_last_twenty_turns(gallery: RunningDevkit, client: httpx.Client) -> None:
    conversation_id = CONVERSATION.search(duck(gallery, client, query="t1").text).group(1)
    for n in range(2, 23):
        page = client.post(gallery.url("open", "/duck"), data={"query": f"t{n}", "conversation_id": conversation_id})
    turns = stored_turns(gallery, conversation_id)
    assert [t["query"] for t in turns] == [f"t{n}" for n in range(3, 23)]
    # the last page showed the twenty turns kept before it (t2..t21), then t22
    assert page.text.count('<article class="turn">') == 20
    assert '<p class="question">t1</p>' not in page.text
    assert 'id="answer">Turn 22: t22</div>' in page.text


HOSTILE_MARKDOWN = (
    "\n# Title\n\n<script>alert(1)</script> <img src=x onerror=alert(2)> </div></main>\n\n"
    "[click](javascript:alert(3)) [data](data:text/html,<b>x</b>) [ok](https://example.com/ok)\n\n"
    "鸭子 🦆 e\u0301\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n<b>code</b>\n```\n"
)


def test_hostile_markdown_is_rendered_safely(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = client.post(gallery.url("open", "/duck"), data={"query": HOSTILE_MARKDOWN}).text
    rendered = page[page.index('<div class="rendered" id="rendered">') :]
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert 'href="javascript' not in page
    assert 'href="data' not in page[page.index("<body>") :]  # in the head: only the page's own icon
    assert page.count('href="data') == page.count('<link rel="icon" href="data:,">') == 1
    assert "<h1>Title</h1>" in rendered
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; &lt;/div&gt;&lt;/main&gt;" in rendered
    )
    assert '<a href="https://example.com/ok" rel="noopener noreferrer nofollow" target="_blank">ok</a>' in rendered
    assert "鸭子 🦆 e\u0301" in rendered
    assert '<div class="table-wrap"><table>' in rendered
    assert "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>" in rendered
    assert page.rstrip().endswith("</main></body></html>")


def test_a_ten_thousand_character_line_arrives_whole(gallery: RunningDevkit, client: httpx.Client) -> None:
    line = "quack" * 2000
    page = client.post(gallery.url("open", "/duck"), data={"query": line}).text
    assert f'id="answer">Turn 1: {line}</div>' in page
    assert f'<div class="rendered" id="rendered"><p>Turn 1: {line}</p>' in page


def test_the_apps_files_and_replaced_answer_are_shown(gallery: RunningDevkit, client: httpx.Client) -> None:
    """demo-chat-every-event sends an image file, then replaces its answer (output moderation)."""
    page = duck(gallery, client, "every-event", query="hi").text
    assert '<img src="https://example.com/duck.png"' in page
    assert (
        '<div class="rendered" id="rendered"><p class="note">The app replaced its answer with:</p>'
        "<p>This answer was replaced by output moderation.</p>"
    ) in page


def test_the_page_speaks_chinese_when_asked(gallery: RunningDevkit, client: httpx.Client) -> None:
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    page = client.get(gallery.url("open", "/duck"), params={"query": "hi"}, headers=zh)
    assert page.headers["content-language"] == "zh-Hans"
    assert '<html lang="zh-Hans">' in page.text
    assert 'placeholder="继续追问"' in page.text
    refused = client.post(gallery.url("open", "/duck"), data={"query": " "}, headers=zh)
    assert refused.status_code == 400
    assert "请输入问题" in refused.text
