"""POST/GET /workflow and /completion: SSE (parsed with httpx-sse) or blocking JSON."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from dify_plugin_devkit.testing import RunningDevkit

WORKFLOW_ANSWER = "Summary of ducks: ducks are waterfowl that stream answers one word at a time."
COMPLETION_ANSWER = "Dear Ada, thank you for trying the Endpoint Gallery."
RUNS = {
    "/workflow": {"inputs": {"topic": "ducks"}},
    "/completion": {"inputs": {"name": "Ada"}},
}
ROUTES = list(RUNS)


def sse(
    client: httpx.Client, gallery: RunningDevkit, route: str, hook: str = "open", **body: object
) -> tuple[httpx.Response, list[ServerSentEvent]]:
    with connect_sse(client, "POST", gallery.url(hook, route), json=body or RUNS[route]) as source:
        return source.response, list(source.iter_sse())


def names(events: list[ServerSentEvent]) -> list[str]:
    return [e.event for e in events]


def test_workflow_streams_every_app_event_in_order(gallery: RunningDevkit, client: httpx.Client) -> None:
    _, events = sse(client, gallery, "/workflow")
    chunks = sum(1 for e in events if e.event == "text_chunk")
    assert names(events) == (
        ["workflow_started", "node_started", "node_finished", "node_started"]
        + ["text_chunk"] * chunks
        + ["node_finished", "node_started", "node_finished", "workflow_finished"]
    )
    payloads = [e.json() for e in events]
    assert all(p["event"] == e.event for p, e in zip(payloads, events, strict=True))  # data is the app event itself
    assert [e.id for e in events] == [str(i) for i in range(1, len(events) + 1)]
    assert "".join(p["data"]["text"] for p in payloads if p["event"] == "text_chunk") == WORKFLOW_ANSWER
    assert payloads[-1]["data"]["outputs"] == {"text": WORKFLOW_ANSWER}
    assert len({p["workflow_run_id"] for p in payloads}) == 1


def test_completion_streams_messages_then_message_end(gallery: RunningDevkit, client: httpx.Client) -> None:
    _, events = sse(client, gallery, "/completion")
    assert names(events)[-1] == "message_end"
    assert set(names(events)[:-1]) == {"message"}
    assert "".join(e.json()["answer"] for e in events[:-1]) == COMPLETION_ANSWER


@pytest.mark.parametrize("route", ROUTES)
def test_stream_headers_defeat_proxy_buffering(gallery: RunningDevkit, client: httpx.Client, route: str) -> None:
    response, _ = sse(client, gallery, route)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"


@pytest.mark.parametrize("route", ROUTES)
def test_get_streams_the_same_events_for_eventsource(gallery: RunningDevkit, client: httpx.Client, route: str) -> None:
    params = {"inputs": json.dumps(RUNS[route]["inputs"])}
    with connect_sse(client, "GET", gallery.url("open", route), params=params) as source:
        got = list(source.iter_sse())
    _, posted = sse(client, gallery, route)
    assert names(got) == names(posted)


@pytest.mark.parametrize("route", ROUTES)
def test_eventsource_reconnect_does_not_run_the_app_again(
    gallery: RunningDevkit, client: httpx.Client, route: str
) -> None:
    before = gallery.app_calls()
    response = client.get(gallery.url("open", route), headers={"Last-Event-ID": "12"})
    assert response.status_code == 204
    assert gallery.app_calls() == before


@pytest.mark.parametrize("route", ROUTES)
def test_first_event_arrives_while_the_app_is_still_running(gallery: RunningDevkit, route: str) -> None:
    """The `silent` apps send one event and then never finish."""
    with (
        httpx.Client(timeout=15) as client,
        connect_sse(client, "POST", gallery.url("silent", route), json={}) as source,
    ):
        first = next(source.iter_sse())
    assert first.event == {"/workflow": "workflow_started", "/completion": "message"}[route]


@pytest.mark.parametrize("route", ROUTES)
def test_silence_is_filled_with_keep_alive_comments(gallery: RunningDevkit, route: str) -> None:
    """keepalive_seconds is 1 on the `silent` instance: a comment must follow the first event."""
    lines: list[str] = []
    with httpx.Client(timeout=15) as client, client.stream("POST", gallery.url("silent", route), json={}) as response:
        for line in response.iter_lines():
            lines.append(line)
            if line == ": keep-alive":
                break
    assert lines[0] == ": stream open"
    assert any(line.startswith("event: ") for line in lines)
    assert lines[-1] == ": keep-alive"


def test_workflow_blocking_returns_difys_result(gallery: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(gallery.url("open", "/workflow"), json={**RUNS["/workflow"], "response_mode": "blocking"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    result = response.json()
    assert result["data"]["status"] == "succeeded"
    assert result["data"]["outputs"] == {"text": WORKFLOW_ANSWER}
    assert result["workflow_run_id"] == result["data"]["id"]


def test_completion_blocking_returns_difys_result(gallery: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(
        gallery.url("open", "/completion"), json={**RUNS["/completion"], "response_mode": "blocking"}
    )
    result = response.json()
    assert result["event"] == "message"
    assert result["mode"] == "completion"
    assert result["answer"] == COMPLETION_ANSWER


# -- failures ------------------------------------------------------------------------
def error_frame(events: list[ServerSentEvent]) -> dict:
    assert events[-1].event == "error"
    return events[-1].json()


def test_app_failing_mid_stream_ends_with_an_error_frame(gallery: RunningDevkit, client: httpx.Client) -> None:
    _, events = sse(client, gallery, "/workflow", "failing", inputs={})
    assert names(events) == ["workflow_started", "node_started", "error"]
    assert error_frame(events) == {
        "event": "error",
        "status": 502,
        "code": "app_stream_failed",
        "message": "The app failed while answering.",
    }


def test_completion_failing_mid_stream_ends_with_an_error_frame(gallery: RunningDevkit, client: httpx.Client) -> None:
    _, events = sse(client, gallery, "/completion", "failing", inputs={})
    assert names(events) == ["message", "message", "error"]


@pytest.mark.parametrize("route", ROUTES)
def test_app_failing_at_the_start_is_a_well_formed_error_stream(
    gallery: RunningDevkit, client: httpx.Client, route: str
) -> None:
    response, events = sse(client, gallery, route, "failing-early", inputs={})
    assert response.status_code == 200
    assert names(events) == ["error"]
    assert error_frame(events)["code"] == "app_stream_failed"


@pytest.mark.parametrize("route", ROUTES)
def test_missing_required_input_is_reported_with_the_apps_words(
    gallery: RunningDevkit, client: httpx.Client, route: str
) -> None:
    _, events = sse(client, gallery, route, inputs={})
    frame = error_frame(events)
    assert frame["code"] == "invalid_inputs"
    assert frame["status"] == 400
    assert "is required in input form" in frame["message"]
    blocking = client.post(gallery.url("open", route), json={"inputs": {}, "response_mode": "blocking"})
    assert blocking.status_code == 400
    assert blocking.json()["error"]["code"] == "invalid_inputs"


@pytest.mark.parametrize("route", ROUTES)
def test_app_missing_from_the_workspace_names_the_setting(
    gallery: RunningDevkit, client: httpx.Client, route: str
) -> None:
    setting = route.strip("/") + "_app"
    _, events = sse(client, gallery, route, "missing", inputs={})
    assert error_frame(events)["code"] == "app_not_found"
    assert f"`{setting}`" in error_frame(events)["message"]
    blocking = client.post(gallery.url("missing", route), json={"response_mode": "blocking"})
    assert blocking.status_code == 503
    assert blocking.json()["error"]["code"] == "app_not_found"


@pytest.mark.parametrize("route", ROUTES)
def test_chat_app_in_a_runner_setting_is_reported_as_the_wrong_type(
    gallery: RunningDevkit, client: httpx.Client, route: str
) -> None:
    _, events = sse(client, gallery, route, "mismatched", inputs={})
    assert error_frame(events)["code"] == "app_wrong_type"


@pytest.mark.parametrize("route", ROUTES)
def test_unconfigured_app_is_503_naming_the_setting(gallery: RunningDevkit, client: httpx.Client, route: str) -> None:
    response = client.post(gallery.url("empty", route), json={})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "app_not_configured"
    assert f"`{route.strip('/')}_app` setting" in response.json()["error"]["message"]


def test_invalid_keepalive_setting_is_503_naming_the_setting(gallery: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(gallery.url("bad-keepalive", "/workflow"), json=RUNS["/workflow"])
    assert response.status_code == 503
    assert "`keepalive_seconds`" in response.json()["error"]["message"]


# -- bad input -------------------------------------------------------------------------
BAD_POSTS = [
    ({"content": b"{nope"}, "invalid_json"),
    ({"content": b"\xff\xfe"}, "invalid_json"),
    ({"json": [1, 2]}, "invalid_body"),
    ({"json": "text"}, "invalid_body"),
    ({"json": {"inputs": [1]}}, "invalid_field"),
    ({"json": {"inputs": "x"}}, "invalid_field"),
    ({"json": {"inputs": {}, "response_mode": "fast"}}, "invalid_response_mode"),
    ({"json": {"input": {}}}, "unknown_field"),
    ({"json": {"inputs": {}, "user": 7}}, "invalid_field"),
    ({"json": {"inputs": {}, "user": "u" * 257}}, "field_too_large"),
    ({"json": {"inputs": {"big": "x" * 70000}}}, "field_too_large"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("send", "code"), BAD_POSTS)
def test_bad_post_is_400_json_and_runs_nothing(
    gallery: RunningDevkit, client: httpx.Client, route: str, send: dict, code: str
) -> None:
    before = gallery.app_calls()
    response = client.post(gallery.url("open", route), **send)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert gallery.app_calls() == before


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("params", "code", "hint"),
    [
        ({"inputs": "{broken"}, "invalid_json", "`inputs` query parameter"),
        ({"inputs": "[]"}, "invalid_field", "must be a JSON object"),
        ({"key": "s3cret-key"}, "unknown_field", "Authorization: Bearer"),
        ({"response_mode": "sometimes"}, "invalid_response_mode", "streaming"),
    ],
)
def test_bad_get_is_400_json(
    gallery: RunningDevkit, client: httpx.Client, route: str, params: dict, code: str, hint: str
) -> None:
    response = client.get(gallery.url("open", route), params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert hint in response.json()["error"]["message"]


def test_empty_body_runs_with_defaults(gallery: RunningDevkit, client: httpx.Client) -> None:
    with connect_sse(client, "POST", gallery.url("slow", "/workflow")) as source:
        events = list(source.iter_sse())
    assert events[-1].event == "workflow_finished"


@pytest.mark.parametrize(("route", "other"), [("/workflow", "demo-completion"), ("/completion", "demo-workflow")])
@pytest.mark.parametrize("mode", ["streaming", "blocking"])
def test_url_cannot_choose_another_app(
    gallery: RunningDevkit, client: httpx.Client, route: str, other: str, mode: str
) -> None:
    """The app always comes from the endpoint's setting, whatever the query string says."""
    before = gallery.app_calls().get(other, 0)
    url = gallery.url("open", route)
    params = {"app_id": other, "app": other}
    if mode == "blocking":
        response = client.post(url, params=params, json={**RUNS[route], "response_mode": "blocking"})
        assert response.status_code == 200
        result = response.json()
        answer = result["data"]["outputs"]["text"] if route == "/workflow" else result["answer"]
    else:
        with connect_sse(client, "POST", url, params=params, json=RUNS[route]) as source:
            events = list(source.iter_sse())
        assert events[-1].event == {"/workflow": "workflow_finished", "/completion": "message_end"}[route]
        if route == "/workflow":
            answer = events[-1].json()["data"]["outputs"]["text"]
        else:
            answer = "".join(e.json()["answer"] for e in events[:-1])
    assert answer == (WORKFLOW_ANSWER if route == "/workflow" else COMPLETION_ANSWER)
    assert gallery.app_calls().get(other, 0) == before
