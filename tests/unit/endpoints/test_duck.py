"""DuckEndpoint (`/duck`) called in-process with a fake session."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug import Request, Response

from endpoints.duck import DuckEndpoint
from tests.unit.fakes import FakeAppInterface, fake_session, request

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
