"""The /v1 routes over plain HTTP (what no SDK shows): CORS preflights, error bodies,
content types, hostile input; both install methods."""

from __future__ import annotations

import httpx
import pytest

from dify_plugin_devkit.testing import RunningDevkit

CHAT = "/v1/chat/completions"
ROUTES = ["/v1/models", "/v1/models/chat", CHAT]


@pytest.fixture
def http() -> httpx.Client:
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.mark.parametrize("path", ROUTES)
def test_preflight_for_an_allowed_origin(v1: RunningDevkit, http: httpx.Client, path: str) -> None:
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    response = http.options(v1.url("cors", path), headers=headers)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    other = http.options(v1.url("cors", path), headers={**headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_answers_carry_cors_headers(v1: RunningDevkit, http: httpx.Client) -> None:
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = http.post(v1.url("cors", CHAT), json=body, headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text.rstrip().endswith("data: [DONE]")


def test_unknown_model_is_openais_404_not_the_route_not_found(v1: RunningDevkit, http: httpx.Client) -> None:
    response = http.get(v1.url("open", "/v1/models/gpt-4o"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["error"]["code"] == "model_not_found"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_broken_setting_is_a_503_naming_it(v1: RunningDevkit, http: httpx.Client) -> None:
    response = http.get(v1.url("bad-names", "/v1/models"))
    assert response.status_code == 503
    assert "openai_model_names" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"model": "chat", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}', 400),
        (b'{"model": "chat", "messages": [{"role": "system", "content": "only a system prompt"}]}', 400),
        (b'{"model": "chat", "messages": [{"role": "user"}]}', 400),
        (b'{"model": ["chat"], "messages": [{"role": "user", "content": "x"}]}', 400),
        (
            b'{"model": "chat", "messages": ['
            + b'{"role": "user", "content": "x"},' * 1500
            + b'{"role": "user", "content": "x"}]}',
            413,
        ),
        (b'{"model": "chat", "messages": [{"role": "user", "content": "' + b"x" * 1_000_001 + b'"}]}', 413),
    ],
    ids=["not-json", "array", "audio-part", "no-user", "no-content", "model-list", "huge-list", "huge-text"],
)
def test_hostile_input_gets_a_4xx_never_a_5xx(v1: RunningDevkit, http: httpx.Client, body: bytes, status: int) -> None:
    response = http.post(v1.url("open", CHAT), content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["type"] == "invalid_request_error"
    assert "Traceback" not in response.text
