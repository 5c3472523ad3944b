"""DuckEndpoint (`/duck`) called in-process with a fake session."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from werkzeug import Request, Response

from endpoints.duck import DuckEndpoint
from tests.unit.fakes import FakeAppInterface, FakeStorage, fake_session, request

SETTINGS: dict[str, Any] = {"chat_app": {"app_id": "chat-app"}}
KEYED = {**SETTINGS, "api_key": "s3cret"}
CONVERSATION = "3f2b0f3e-9a4c-4c5e-8d3b-2a1b0c9d8e7f"


def invoke(r: Request, settings: dict[str, Any], chat: FakeAppInterface | None = None) -> Response:
    return DuckEndpoint(fake_session(chat=chat))._invoke(r, {}, settings)


def body(response: Response) -> str:
    return b"".join(response.iter_encoded()).decode()


def assert_page_headers(response: Response) -> None:
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def nonce_of(response: Response) -> str:
    match = re.search(r"style-src 'nonce-([A-Za-z0-9_-]{16,})'", response.headers["Content-Security-Policy"])
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("r", "settings"),
    [
        (request("GET", "/duck"), SETTINGS),
        (request("GET", "/duck", query_string={"query": "Hi"}), SETTINGS),
        (request("POST", "/duck", data={}), SETTINGS),
        (request("GET", "/duck", query_string={"query": "Hi"}), {}),
    ],
)
def test_the_page_style_carries_the_csp_nonce(r: Request, settings: dict[str, Any]) -> None:
    response = invoke(r, settings, FakeAppInterface(events=[{"event": "message", "answer": "quack"}]))
    assert f'<style nonce="{nonce_of(response)}">' in body(response)


def test_app_errors_name_the_chat_app_setting() -> None:
    error = 'invoke app failed: request failed with status code: 404 and respond with: {"message": "app not found"}'
    chat = FakeAppInterface(error=error, raise_on_call=True)
    page = body(invoke(request("GET", "/duck", query_string={"query": "Hi"}), SETTINGS, chat))
    assert "`chat_app`" in page


def test_get_without_query_is_the_form_and_invokes_nothing() -> None:
    chat = FakeAppInterface()
    response = invoke(request("GET", "/duck"), SETTINGS, chat)
    assert response.status_code == 200
    assert_page_headers(response)
    assert '<form method="post" action="duck"' in body(response)
    assert chat.calls == []


def test_get_with_query_streams_the_answer_escaped() -> None:
    chat = FakeAppInterface(
        events=[
            {"event": "message", "answer": "<img src=x onerror=alert(1)>", "conversation_id": CONVERSATION},
            {"event": "message_end", "conversation_id": CONVERSATION},
        ]
    )
    r = request("GET", "/duck", query_string={"query": "Hello duck", "app_id": "evil", "user": "ada"})
    response = invoke(r, SETTINGS, chat)
    assert response.status_code == 200
    assert_page_headers(response)
    assert response.headers["X-Accel-Buffering"] == "no"
    page = body(response)
    assert "&lt;img src=x" in page
    assert "<img src=x" not in page
    assert "Hello duck" in page
    assert chat.calls == [
        {
            "app_id": "chat-app",
            "query": "Hello duck",
            "inputs": {},
            "response_mode": "streaming",
            "conversation_id": None,
            "user": "ada",
        }
    ]
    assert page.rstrip().endswith("</html>")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"query": "Hi", "conversation_id": CONVERSATION}},
        {"json": {"query": "Hi", "conversation_id": CONVERSATION}},
    ],
)
def test_post_form_or_json_continues_the_conversation(kwargs: dict[str, Any]) -> None:
    chat = FakeAppInterface(events=[{"event": "message", "answer": "quack"}])
    response = invoke(request("POST", "/duck", **kwargs), SETTINGS, chat)
    assert response.status_code == 200
    assert "quack" in body(response)
    assert chat.calls[0]["conversation_id"] == CONVERSATION
    assert chat.calls[0]["query"] == "Hi"
    assert chat.calls[0]["app_id"] == "chat-app"


def test_post_without_query_is_400_with_the_form() -> None:
    chat = FakeAppInterface()
    response = invoke(request("POST", "/duck", data={"user": "ada"}), SETTINGS, chat)
    assert response.status_code == 400
    assert_page_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert '<form method="post"' in body(response)
    assert chat.calls == []


@pytest.mark.parametrize(
    ("r", "status"),
    [
        (request("GET", "/duck", query_string={"query": "Hi"}), 401),
        (request("GET", "/duck", query_string={"query": "Hi", "key": "wrong-key-123"}), 401),
        (request("POST", "/duck", data={"query": "Hi", "key": "wrong-key-123"}), 401),
        (request("GET", "/duck", headers={"Authorization": "Bearer wrong-key-123"}), 401),
    ],
)
def test_a_wrong_or_missing_key_is_401_and_never_echoed(r: Request, status: int) -> None:
    chat = FakeAppInterface()
    response = invoke(r, KEYED, chat)
    assert response.status_code == status
    assert_page_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    page = body(response)
    assert "wrong-key-123" not in page
    assert "s3cret" not in page
    assert 'name="key"' not in page
    assert chat.calls == []


@pytest.mark.parametrize(
    "r",
    [
        request("GET", "/duck", query_string={"key": "s3cret"}),
        request("POST", "/duck", data={"query": "Hi", "key": "s3cret"}),
    ],
)
def test_a_right_key_field_is_carried_into_the_forms(r: Request) -> None:
    chat = FakeAppInterface(events=[{"event": "message", "answer": "quack"}])
    response = invoke(r, KEYED, chat)
    assert response.status_code == 200
    assert '<input type="hidden" name="key" value="s3cret">' in body(response)


def test_a_right_bearer_key_runs_and_is_not_put_in_the_page() -> None:
    chat = FakeAppInterface(events=[{"event": "message", "answer": "quack"}])
    r = request("GET", "/duck", query_string={"query": "Hi"}, headers={"Authorization": "Bearer s3cret"})
    response = invoke(r, KEYED, chat)
    assert response.status_code == 200
    page = body(response)
    assert "quack" in page
    assert "s3cret" not in page
    assert len(chat.calls) == 1


def test_a_non_string_key_field_counts_as_missing() -> None:
    chat = FakeAppInterface()
    response = invoke(request("POST", "/duck", json={"query": "Hi", "key": 123}), KEYED, chat)
    assert response.status_code == 401
    assert "needs an API key" in body(response)
    assert chat.calls == []


def test_an_unset_chat_app_is_503_naming_the_setting() -> None:
    chat = FakeAppInterface()
    response = invoke(request("GET", "/duck", query_string={"query": "Hi"}), {}, chat)
    assert response.status_code == 503
    assert_page_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "chat_app" in body(response)
    assert chat.calls == []


def test_an_app_failure_mid_stream_ends_the_page_with_an_error_block() -> None:
    chat = FakeAppInterface(events=[{"event": "message", "answer": "qu"}], error="internal boom")
    response = invoke(request("GET", "/duck", query_string={"query": "Hi"}), SETTINGS, chat)
    assert response.status_code == 200
    page = body(response)
    assert "qu" in page
    assert 'class="error"' in page
    assert "internal boom" not in page
    assert page.rstrip().endswith("</html>")


# -- the conversation (issue #9): earlier turns from storage, rendered answers, files, language --

OTHER = "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
STORED = f"duck/conversations/chat-app/{CONVERSATION}"


def answered(text: str, conversation_id: str = CONVERSATION, *extra: dict[str, Any]) -> FakeAppInterface:
    return FakeAppInterface(
        events=[
            {"event": "message", "answer": text, "conversation_id": conversation_id},
            *extra,
            {"event": "message_end", "conversation_id": conversation_id},
        ]
    )


def ask(storage: FakeStorage, chat: FakeAppInterface, **fields: str) -> Response:
    r = request("POST", "/duck", data=fields)
    return DuckEndpoint(fake_session(chat=chat, storage=storage))._invoke(r, {}, SETTINGS)


def stored_turns(storage: FakeStorage, key: str = STORED) -> list[tuple[str, str]]:
    return [(t["query"], t["answer"]) for t in json.loads(storage.values[key])["turns"]]


def test_a_follow_up_shows_the_earlier_turn_above_the_new_answer() -> None:
    storage = FakeStorage()
    first = body(ask(storage, answered("*one*"), query="first?"))
    assert 'id="turns"' not in first
    assert stored_turns(storage) == [("first?", "*one*")]

    second = body(ask(storage, answered("two"), query="second?", conversation_id=CONVERSATION))
    earlier = second.index('<section class="turns" id="turns"')
    assert earlier < second.index('<p class="question">first?</p>') < second.index("<p><em>one</em></p>")
    assert second.index("<p><em>one</em></p>") < second.index('<p class="question">second?</p>')
    assert second.index('<p class="question">second?</p>') < second.index('id="answer">two</div>')
    assert stored_turns(storage) == [("first?", "*one*"), ("second?", "two")]


def test_turns_sent_by_the_client_are_never_shown() -> None:
    storage = FakeStorage()
    page = body(
        ask(
            storage,
            answered("two"),
            query="q",
            conversation_id=CONVERSATION,
            turns='[{"query": "forged", "answer": "forged"}]',
            answer="forged",
        )
    )
    assert "forged" not in page
    assert stored_turns(storage) == [("q", "two")]


def test_an_app_that_starts_a_new_conversation_does_not_inherit_the_old_turns() -> None:
    storage = FakeStorage()
    body(ask(storage, answered("one"), query="first?"))
    body(ask(storage, answered("fresh", OTHER), query="second?", conversation_id=CONVERSATION))
    assert stored_turns(storage, f"duck/conversations/chat-app/{OTHER}") == [("second?", "fresh")]
    assert stored_turns(storage) == [("first?", "one")]


def test_a_failed_answer_is_not_remembered() -> None:
    storage = FakeStorage()
    chat = FakeAppInterface(events=[{"event": "message", "answer": "par", "conversation_id": CONVERSATION}], error="x")
    page = body(ask(storage, chat, query="q"))
    assert 'class="error"' in page
    assert 'id="rendered"' not in page
    assert storage.values == {}


def test_the_turn_is_kept_before_the_follow_up_form_is_sent() -> None:
    storage = FakeStorage()
    pieces = ask(storage, answered("one"), query="q").response
    for piece in pieces:
        if b'<form method="post"' in piece:
            break
    assert STORED in storage.values


@pytest.mark.parametrize("failure", ["storage", "corrupt"])
def test_a_broken_store_still_answers_and_says_the_history_is_missing(
    failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    if failure == "storage":
        storage = FakeStorage(error="permission denied, you need to enable storage access in plugin manifest")
    else:
        storage = FakeStorage(values={STORED: b"\x00garbage"})
    with caplog.at_level(logging.WARNING):
        response = ask(storage, answered("still here"), query="q", conversation_id=CONVERSATION)
        page = body(response)
    assert response.status_code == 200
    assert 'id="answer">still here</div>' in page
    assert '<p class="note" id="history-note">The earlier turns of this conversation could not be loaded.</p>' in page
    assert page.rstrip().endswith("</html>")
    assert "conversation" in caplog.text
    assert "permission denied" not in page


def test_a_markdown_answer_is_rendered_once_complete_and_hostile_html_stays_text() -> None:
    answer = "# Title\n\n<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://e.com)"
    page = body(ask(FakeStorage(), answered(answer), query="q"))
    assert "<script>" not in page
    assert '<div class="rendered" id="rendered"><h1>Title</h1>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page
    assert '<a href="https://e.com" rel="noopener noreferrer nofollow" target="_blank">ok</a>' in page


def test_the_apps_files_show_as_images_or_links_and_only_over_http() -> None:
    files = [
        {"event": "message_file", "type": "image", "url": "https://files.example/duck.png", "belongs_to": "assistant"},
        {"event": "message_file", "type": "document", "url": "https://files.example/report.pdf"},
        {"event": "message_file", "type": "image", "url": "javascript:alert(1)"},
        {"event": "message_file", "type": "image", "url": "data:image/png;base64,AAAA"},
    ]
    storage = FakeStorage()
    page = body(ask(storage, answered("here", CONVERSATION, *files), query="q"))
    assert '<img src="https://files.example/duck.png"' in page
    assert 'href="https://files.example/report.pdf"' in page
    assert "javascript:" not in page
    assert "data:image" not in page
    assert [f["url"] for f in json.loads(storage.values[STORED])["turns"][0]["files"]] == [
        "https://files.example/duck.png",
        "https://files.example/report.pdf",
    ]


def test_the_page_follows_accept_language() -> None:
    r = request("GET", "/duck", query_string={"query": "Hi"}, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    response = invoke(r, SETTINGS, answered("quack"))
    page = body(response)
    assert '<html lang="zh-Hans">' in page
    assert 'placeholder="继续追问"' in page
    assert response.headers["Content-Language"] == "zh-Hans"
    assert "Accept-Language" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("method", "send", "settings", "status", "english", "chinese"),
    [
        ("POST", {"data": {"query": " "}}, SETTINGS, 400, "Type a question", "请输入问题"),
        ("GET", {"query_string": {"query": "Hi"}}, KEYED, 401, "needs an API key", "需要 API 密钥"),
        ("GET", {"query_string": {"query": "Hi"}}, {}, 503, "`chat_app` setting", "尚未正确配置"),
    ],
)
def test_error_pages_follow_accept_language_with_the_same_status(
    method: str, send: dict[str, Any], settings: dict[str, Any], status: int, english: str, chinese: str
) -> None:
    english_page = invoke(request(method, "/duck", **send), settings)
    chinese_page = invoke(request(method, "/duck", headers={"Accept-Language": "zh-Hans"}, **send), settings)
    assert english_page.status_code == chinese_page.status_code == status
    assert english in body(english_page)
    assert english not in body(chinese_page)
    assert chinese in body(chinese_page)
    assert '<html lang="zh-Hans">' in body(chinese_page)


def test_a_file_path_from_dify_is_served_from_the_host_the_visitor_used() -> None:
    """Dify without FILES_URL signs its files as paths on its own host."""
    file = {"event": "message_file", "type": "image", "url": "/files/tools/f.png?timestamp=1&sign=s"}
    r = request(
        "GET", "/duck", query_string={"query": "Hi"}, headers={"Dify-Hook-Url": "https://dify.example/e/h1/duck"}
    )
    page = body(invoke(r, SETTINGS, answered("here", CONVERSATION, file)))
    assert '<img src="https://dify.example/files/tools/f.png?timestamp=1&amp;sign=s"' in page
