"""RunnerEndpoint (`/workflow`, `/completion`) called in-process with a fake session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug import Request, Response

from endpoints.runner import RunnerEndpoint
from tests.unit.fakes import FakeAppInterface, fake_session, request

WORKFLOW_SETTINGS: dict[str, Any] = {"workflow_app": {"app_id": "wf-app"}, "completion_app": {"app_id": "cp-app"}}
KEYED = {**WORKFLOW_SETTINGS, "api_key": "s3cret"}
ROUTES = [("/workflow", "workflow", "wf-app"), ("/completion", "completion", "cp-app")]


def invoke(r: Request, settings: dict[str, Any], **fakes: FakeAppInterface) -> Response:
    return RunnerEndpoint(fake_session(**fakes))._invoke(r, {}, settings)


def body(response: Response) -> str:
    return b"".join(response.iter_encoded()).decode()


def error_code(response: Response) -> str:
    return json.loads(body(response))["error"]["code"]


@pytest.mark.parametrize(("path", "kind", "app_id"), ROUTES)
def test_streams_the_app_from_settings_only(path: str, kind: str, app_id: str) -> None:
    app = FakeAppInterface(events=[{"event": "message", "answer": "hi"}])
    r = request("POST", path, json={"inputs": {"topic": "ducks"}, "user": "ada"}, query_string={"app_id": "evil"})
    response = invoke(r, WORKFLOW_SETTINGS, **{kind: app})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    text = body(response)
    assert text.startswith(": stream open")
    assert "event: message" in text
    assert app.calls == [{"app_id": app_id, "inputs": {"topic": "ducks"}, "response_mode": "streaming", "user": "ada"}]


@pytest.mark.parametrize(("path", "kind", "app_id"), ROUTES)
def test_blocking_returns_the_result(path: str, kind: str, app_id: str) -> None:
    app = FakeAppInterface(result={"data": {"status": "succeeded"}})
    r = request("POST", path, json={"response_mode": "blocking"})
    response = invoke(r, WORKFLOW_SETTINGS, **{kind: app})
    assert response.status_code == 200
    assert json.loads(body(response)) == {"data": {"status": "succeeded"}}
    assert app.calls[0]["app_id"] == app_id
    assert app.calls[0]["response_mode"] == "blocking"


def test_get_reads_inputs_from_the_query_string() -> None:
    app = FakeAppInterface()
    r = request("GET", "/workflow", query_string={"inputs": '{"topic": "ducks"}'})
    assert invoke(r, WORKFLOW_SETTINGS, workflow=app).status_code == 200
    body(invoke(r, WORKFLOW_SETTINGS, workflow=app))
    assert app.calls[0]["inputs"] == {"topic": "ducks"}


@pytest.mark.parametrize(("path", "kind", "app_id"), ROUTES)
def test_a_reconnect_gets_204_and_runs_nothing(path: str, kind: str, app_id: str) -> None:
    app = FakeAppInterface()
    r = request("GET", path, headers={"Last-Event-ID": "12"})
    response = invoke(r, KEYED, **{kind: app})
    assert response.status_code == 204
    assert body(response) == ""
    assert app.calls == []


@pytest.mark.parametrize(
    ("headers", "query", "status", "code"),
    [
        ({}, {}, 401, "missing_api_key"),
        ({"Authorization": "Bearer wrong"}, {}, 401, "invalid_api_key"),
        ({}, {"key": "s3cret"}, 401, "missing_api_key"),  # no ?key= on the runners
    ],
)
def test_the_key_is_checked_before_anything_runs(
    headers: dict[str, str], query: dict[str, str], status: int, code: str
) -> None:
    app = FakeAppInterface()
    r = request("POST", "/workflow", json={"inputs": {}}, headers=headers, query_string=query)
    response = invoke(r, KEYED, workflow=app)
    assert response.status_code == status
    assert error_code(response) == code
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "s3cret" not in body(response)
    assert app.calls == []


def test_the_right_key_runs() -> None:
    app = FakeAppInterface()
    r = request("POST", "/completion", json={}, headers={"Authorization": "Bearer s3cret"})
    response = invoke(r, KEYED, completion=app)
    assert response.status_code == 200
    body(response)
    assert app.calls[0]["app_id"] == "cp-app"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, "invalid_json"),
        ({"json": {"inputs": []}}, "invalid_field"),
        ({"json": {"input": {}}}, "unknown_field"),
        ({"json": {"response_mode": "fast"}}, "invalid_response_mode"),
    ],
)
def test_bad_requests_are_400_and_run_nothing(kwargs: dict[str, Any], code: str) -> None:
    app = FakeAppInterface()
    response = invoke(request("POST", "/workflow", **kwargs), WORKFLOW_SETTINGS, workflow=app)
    assert response.status_code == 400
    assert error_code(response) == code
    assert response.headers["Cache-Control"] == "no-store"
    assert app.calls == []


def test_an_unset_app_is_503_naming_the_setting() -> None:
    app = FakeAppInterface()
    response = invoke(request("POST", "/completion", json={}), {"workflow_app": {"app_id": "wf"}}, completion=app)
    assert response.status_code == 503
    assert error_code(response) == "app_not_configured"
    assert "completion_app" in body(response)
    assert app.calls == []


def test_a_failing_blocking_call_is_an_error_response() -> None:
    app = FakeAppInterface(error="internal boom", raise_on_call=True)
    r = request("POST", "/workflow", json={"response_mode": "blocking"})
    response = invoke(r, WORKFLOW_SETTINGS, workflow=app)
    assert response.status_code >= 500
    assert response.headers["Cache-Control"] == "no-store"
    assert "internal boom" not in body(response)


def test_blocking_json_is_utf8_unescaped_and_not_cached() -> None:
    app = FakeAppInterface(result={"answer": "canard 🦆"})
    response = invoke(request("POST", "/workflow", json={"response_mode": "blocking"}), WORKFLOW_SETTINGS, workflow=app)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    assert b"".join(response.iter_encoded()) == '{"answer": "canard 🦆"}'.encode()


def test_errors_are_utf8_unescaped_json() -> None:
    response = invoke(request("POST", "/workflow", json={"inputs": {"é": 1}, "ïnput": 1}), WORKFLOW_SETTINGS)
    assert response.status_code == 400
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    raw = b"".join(response.iter_encoded()).decode()
    assert "\\u" not in raw
    assert "ïnput" in raw


def test_sse_response_is_200_event_stream() -> None:
    app = FakeAppInterface(events=[{"event": "workflow_finished", "data": {"text": "🦆"}}])
    response = invoke(request("POST", "/workflow", json={}), WORKFLOW_SETTINGS, workflow=app)
    assert response.status_code == 200
    text = body(response)
    assert 'data: {"event":"workflow_finished","data":{"text":"🦆"}}' in text


@pytest.mark.parametrize(("path", "kind", "app_id"), ROUTES)
def test_app_errors_name_the_setting_of_the_route(path: str, kind: str, app_id: str) -> None:
    error = 'invoke app failed: request failed with status code: 404 and respond with: {"message": "app not found"}'
    app = FakeAppInterface(error=error, raise_on_call=True)
    response = invoke(request("POST", path, json={"response_mode": "blocking"}), WORKFLOW_SETTINGS, **{kind: app})
    assert response.status_code == 503
    assert error_code(response) == "app_not_found"
    assert f"`{kind}_app`" in body(response)
