"""The gallery under Dify's production limits and failure shapes, as the devkit enforces them.

Dify's daemon hands an empty POST over as a chunked `0\\r\\n\\r\\n`, kills a plugin whose
response chunk makes a stdout line over 5 MiB, cuts app streams 240 s after they open
(2 s here), and reports a failed workflow run with `status: failed` events instead of an
`error` event. Every route must come through all of it well-formed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit

#: A result larger than one response chunk may be (about 2.5 MiB).
BIG = 4 * 1024 * 1024
APP_STREAM_TIMEOUT = 2

CONFIG: dict[str, Any] = {
    # /completion is exercised on purpose: run it as a later Dify does
    "dify": {"quirks": {"completion_from_plugin_fails": False}},
    "endpoints": [
        {
            "hook_id": "plain",
            "settings": {"workflow_app": "limits-plain-workflow", "completion_app": "limits-plain-completion"},
        },
        {"hook_id": "big", "settings": {"workflow_app": "limits-big-workflow"}},
        {"hook_id": "failed", "settings": {"workflow_app": "limits-failed-workflow"}},
        {
            "hook_id": "silent",
            "settings": {
                "chat_app": "limits-silent-chat",
                "workflow_app": "demo-silent-workflow",
                "keepalive_seconds": "1",
            },
        },
    ],
    "apps": [
        {
            "id": "limits-plain-workflow",
            "name": "No inputs",
            "mode": "workflow",
            "script": "workflow",
            "answer": "done",
        },
        {
            "id": "limits-plain-completion",
            "name": "No inputs",
            "mode": "completion",
            "script": "completion",
            "answer": "ok",
        },
        {
            "id": "limits-big-workflow",
            "name": "4 MiB output",
            "mode": "workflow",
            "script": "workflow",
            "answer": "x" * BIG,
        },
        {
            "id": "limits-failed-workflow",
            "name": "Its LLM node fails",
            "mode": "workflow",
            "script": "workflow",
            "answer": "never finished",
            "fail_after": 4,  # workflow_started, start node, llm node_started: then the llm node fails
            "fail_as": "workflow",
        },
        {
            "id": "limits-silent-chat",
            "name": "One word, then silence",
            "mode": "chat",
            "script": "answer",
            "answer": "hello there",
            "silent_after": 1,
        },
    ],
    "daemon": {"app_stream_timeout": APP_STREAM_TIMEOUT},
}


@pytest.fixture(scope="module", params=MODES)
def limited(request: pytest.FixtureRequest, dify_devkit: DevkitFactory) -> RunningDevkit:
    return dify_devkit(config=CONFIG, mode=request.param)


def sse(client: httpx.Client, url: str, **kwargs: Any) -> list[ServerSentEvent]:
    with connect_sse(client, "POST", url, **kwargs) as source:
        return list(source.iter_sse())


@pytest.mark.parametrize("route", ["/workflow", "/completion"])
def test_an_empty_post_as_the_daemon_copies_it_runs_with_no_inputs(
    limited: RunningDevkit, client: httpx.Client, route: str
) -> None:
    events = sse(client, limited.url("plain", route))
    assert events[-1].event == {"/workflow": "workflow_finished", "/completion": "message_end"}[route]
    assert "error" not in [e.event for e in events]


def test_a_4_mib_blocking_result_arrives_whole_and_the_plugin_survives(
    limited: RunningDevkit, client: httpx.Client
) -> None:
    response = client.post(limited.url("big", "/workflow"), json={"response_mode": "blocking"})
    assert response.status_code == 200
    assert response.json()["data"]["outputs"]["text"] == "x" * BIG
    again = client.post(limited.url("plain", "/workflow"), json={"response_mode": "blocking"})
    assert again.json()["data"]["status"] == "succeeded"
    assert limited.stats().get("plugin_restarts", 0) == 0


def test_a_4_mib_event_streams_whole_and_the_plugin_survives(limited: RunningDevkit, client: httpx.Client) -> None:
    events = sse(client, limited.url("big", "/workflow"), json={})
    text = "".join(e.json()["data"]["text"] for e in events if e.event == "text_chunk")
    assert text == "x" * BIG
    assert events[-1].event == "workflow_finished"
    assert limited.stats().get("plugin_restarts", 0) == 0


def test_a_failed_workflow_run_streams_its_failed_events_and_ends_well_formed(
    limited: RunningDevkit, client: httpx.Client
) -> None:
    events = sse(client, limited.url("failed", "/workflow"), json={})
    payloads = [e.json() for e in events]
    assert "error" not in [e.event for e in events]  # Dify sends none for a failed run
    failed_nodes = [p for p in payloads if p["event"] == "node_finished" and p["data"]["status"] == "failed"]
    assert failed_nodes
    assert payloads[-1]["event"] == "workflow_finished"
    assert payloads[-1]["data"]["status"] == "failed"
    assert payloads[-1]["data"]["error"]


def test_a_failed_workflow_run_in_blocking_mode_is_difys_200_with_status_failed(
    limited: RunningDevkit, client: httpx.Client
) -> None:
    response = client.post(limited.url("failed", "/workflow"), json={"response_mode": "blocking"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "failed"
    assert data["error"]


def test_a_stream_cut_by_the_app_stream_cap_ends_with_an_error_frame(limited: RunningDevkit) -> None:
    with httpx.Client(timeout=APP_STREAM_TIMEOUT * 10) as client:
        events = sse(client, limited.url("silent", "/workflow"), json={})
    assert events[0].event == "workflow_started"
    assert events[-1].event == "error"
    assert events[-1].json()["code"] == "app_stream_failed"


def test_a_duck_answer_cut_by_the_app_stream_cap_ends_with_the_error_block(limited: RunningDevkit) -> None:
    with httpx.Client(timeout=APP_STREAM_TIMEOUT * 10) as client:
        page = client.get(limited.url("silent", "/duck"), params={"query": "hi"})
    assert page.status_code == 200
    assert 'id="answer">hello' in page.text
    assert 'class="error" role="alert"' in page.text
    assert page.text.rstrip().endswith("</html>")
