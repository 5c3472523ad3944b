"""Real apps: the plugin's app calls answered by a Dify's Service API, end to end.

The probe plugin runs on the real `dify_plugin` runtime behind the devkit; its app calls
go to a local HTTP server that replays Service API transcripts (`fixtures/service_api/`):
the chatflow and the workflow answer with the bytes a real Dify 1.13.2 sent
(fixtures/real-dify-1.13.2/), the completion app and the transport failures as written
from Dify's API page (no recording has them), pauses between frames kept. The probe's
`POST /app` streams each event the SDK handed it, or the text of the exception it
raised, as one JSON line: exactly what plugin code sees inside Dify.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from recorded_dify import inner_case
from service_api_replay import ReplayServer, Transcript, dify_json_text
from support import FIXTURES, PROBE_PLUGIN, call, events

from dify_plugin_devkit._apps import DEVKIT_USER
from dify_plugin_devkit._backwards import APP_READ_TIMEOUT_ERROR
from dify_plugin_devkit.testing import RunningDevkit, start_devkit

TRANSCRIPTS = FIXTURES / "service_api"
KEYS = {
    "CHAT_KEY": "app-test-chat",
    "WORKFLOW_KEY": "app-test-workflow",
    "COMPLETION_KEY": "app-test-completion",
    "FAILING_KEY": "app-test-failing",
    "REVOKED_KEY": "app-revoked-long-ago",
}
STREAM_CAP = 3.0  # the devkit's app_stream_timeout in these tests (240 s in production)
CONVERSATION = "ef93deaa-16b2-441c-b7a3-ede0941576dd"  # what the recorded first turn started
REJECTED = "invoke app failed: request failed with status code: {status} and respond with: {body}"


def transcript(name: str) -> Transcript:
    return Transcript.load(TRANSCRIPTS / f"{name}.yaml")


def closed_port() -> int:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dify() -> Iterator[ReplayServer]:
    server = ReplayServer.of(sorted(TRANSCRIPTS.glob("*.yaml"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def probe(dify: ReplayServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    def real(app_id: str, key: str, mode: str | None, base_url: str = dify.base_url) -> dict[str, Any]:
        app: dict[str, Any] = {"id": app_id, "service_api": {"base_url": base_url, "api_key": f"${{{key}}}"}}
        if mode is not None:
            app["mode"] = mode
        return app

    config = {
        "endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}],
        "apps": [
            real("real-chat", "CHAT_KEY", "advanced-chat"),
            real("real-chat-mode-unsaid", "CHAT_KEY", None),
            real("real-workflow", "WORKFLOW_KEY", "workflow"),
            real("real-completion", "COMPLETION_KEY", "completion"),
            real("real-failing", "FAILING_KEY", "chat"),
            real("real-revoked", "REVOKED_KEY", "chat"),
            real("real-unreachable", "CHAT_KEY", "chat", base_url=f"http://127.0.0.1:{closed_port()}/v1"),
        ],
        "daemon": {"app_stream_timeout": STREAM_CAP},
    }
    work = tmp_path_factory.mktemp("service-api")
    devkit = start_devkit(PROBE_PLUGIN, config, workdir=work, env=KEYS)
    yield devkit
    devkit.stop()


def chat(probe: RunningDevkit, app_id: str, query: str, mode: str = "streaming", **ask: Any) -> list[dict[str, Any]]:
    return call(probe, "chat", app_id=app_id, query=query, inputs={}, response_mode=mode, **ask)


def rejected(status: int, body: str) -> list[dict[str, Any]]:
    return [{"error": REJECTED.format(status=status, body=body)}]


def rejected_as_recorded(inner: str) -> list[dict[str, Any]]:
    """What the plugin sees inside Dify for the recorded inner-API refusal `inner`."""
    case = inner_case(inner)
    return rejected(case.status, case.body.decode())


# --- the three interfaces, both response modes -------------------------------------------


def test_a_streamed_chat_hands_the_plugin_each_data_event_in_order_and_no_ping(
    probe: RunningDevkit, dify: ReplayServer
) -> None:
    got = events(chat(probe, "real-chat", "Hi"))
    assert got == transcript("chat").frames("POST", "/chat-messages", {"response_mode": "streaming"})
    assert "ping" not in [event["event"] for event in got]
    assert "skipped an SSE frame" not in probe.log()  # pings are dropped as pings, not as junk
    sent = dify.seen("/chat-messages")[-1]
    assert sent.authorization == "Bearer app-test-chat"
    assert sent.json == {"inputs": {}, "response_mode": "streaming", "user": DEVKIT_USER, "query": "Hi"}


def test_a_blocking_chat_hands_the_plugin_difys_answer_as_is(probe: RunningDevkit, dify: ReplayServer) -> None:
    [line] = chat(probe, "real-chat", "Hi", mode="blocking")
    assert line["event"] == transcript("chat").response("POST", "/chat-messages", {"response_mode": "blocking"})["json"]
    assert dify.seen("/chat-messages")[-1].json["response_mode"] == "blocking"


def test_a_workflow_runs_through_workflows_run_streaming_and_blocking(probe: RunningDevkit, dify: ReplayServer) -> None:
    inputs = {"topic": "ducks", "style": "long"}
    streamed = events(call(probe, "workflow", app_id="real-workflow", inputs=inputs, response_mode="streaming"))
    assert streamed == transcript("workflow").frames("POST", "/workflows/run", {"response_mode": "streaming"})
    assert dify.seen("/workflows/run")[-1].json == {"inputs": inputs, "response_mode": "streaming", "user": DEVKIT_USER}

    [blocking] = call(probe, "workflow", app_id="real-workflow", inputs=inputs, response_mode="blocking")
    expected = transcript("workflow").response("POST", "/workflows/run", {"response_mode": "blocking"})["json"]
    assert blocking["event"] == expected
    assert dify.seen("/workflows/run")[-1].json["response_mode"] == "blocking"


def test_a_completion_app_runs_through_completion_messages_streaming_and_blocking(
    probe: RunningDevkit, dify: ReplayServer
) -> None:
    inputs = {"name": "Ada"}
    streamed = events(call(probe, "completion", app_id="real-completion", inputs=inputs, response_mode="streaming"))
    assert streamed == transcript("completion").frames("POST", "/completion-messages", {"response_mode": "streaming"})
    sent = dify.seen("/completion-messages")[-1]
    assert (sent.authorization, sent.json) == (
        "Bearer app-test-completion",
        {"inputs": inputs, "response_mode": "streaming", "user": DEVKIT_USER},
    )

    [blocking] = call(probe, "completion", app_id="real-completion", inputs=inputs, response_mode="blocking")
    expected = transcript("completion").response("POST", "/completion-messages", {"response_mode": "blocking"})
    assert blocking["event"] == expected["json"]


def test_fetch_app_gives_the_plugin_the_apps_parameters(probe: RunningDevkit, dify: ReplayServer) -> None:
    [line] = call(probe, "fetch_app", app_id="real-chat")
    assert line["event"] == transcript("chat").response("GET", "/parameters")["json"]
    assert dify.seen("/parameters")[-1].authorization == "Bearer app-test-chat"


def test_a_conversation_continues_with_the_conversation_id_dify_returned(
    probe: RunningDevkit, dify: ReplayServer
) -> None:
    first = events(chat(probe, "real-chat", "Hi"))
    conversation_id = first[-1]["conversation_id"]
    assert conversation_id == CONVERSATION
    second = events(chat(probe, "real-chat", "And again?", conversation_id=conversation_id))
    assert second == transcript("chat").frames(
        "POST", "/chat-messages", {"response_mode": "streaming", "conversation_id": CONVERSATION}
    )
    assert dify.seen("/conversations")[-1].query == f"user={DEVKIT_USER}&last_id={CONVERSATION}&limit=1"
    sent = dify.seen("/chat-messages")[-1].json
    assert (sent["conversation_id"], sent["user"], sent["query"]) == (conversation_id, DEVKIT_USER, "And again?")


def test_an_app_without_a_declared_mode_is_asked_once_with_get_info(probe: RunningDevkit, dify: ReplayServer) -> None:
    before = len(dify.seen("/info"))
    # a chatflow (advanced-chat, says GET /info) ends with workflow_finished, after message_end
    assert events(chat(probe, "real-chat-mode-unsaid", "Hi"))[-1]["event"] == "workflow_finished"
    assert events(chat(probe, "real-chat-mode-unsaid", "Hi"))[-1]["event"] == "workflow_finished"
    assert len(dify.seen("/info")) == before + 1  # the mode is remembered
    assert dify.requests[-1].path == "/chat-messages"


def test_the_stream_keeps_its_pacing_on_the_way_to_the_plugin(probe: RunningDevkit) -> None:
    """Events reach the endpoint's client as Dify sends them, not all at once at the end."""
    arrivals: list[float] = []
    ask = {"kind": "chat", "app_id": "real-chat", "query": "Hi", "inputs": {}, "response_mode": "streaming"}
    with probe.client("probe").stream("POST", "/app", json=ask) as response:
        for _line in response.iter_lines():
            arrivals.append(time.monotonic())
    assert len(arrivals) == len(transcript("chat").frames("POST", "/chat-messages", {"response_mode": "streaming"}))
    # twelve frames 50 ms apart: a buffered stream would arrive at once
    assert arrivals[-1] - arrivals[0] >= 0.25


# --- failures, as the plugin sees them inside Dify ---------------------------------------


def test_a_bad_key_is_difys_401_before_the_stream(probe: RunningDevkit) -> None:
    body = '{"code":"unauthorized","message":"Access token is invalid","status":401}\n'  # recorded: bad_key
    assert chat(probe, "real-revoked", "Hi") == rejected(401, body)
    assert chat(probe, "real-revoked", "Hi", mode="blocking") == rejected(401, body)


def test_an_unknown_conversation_is_refused_at_once_as_the_inner_api_refuses_it(
    probe: RunningDevkit, dify: ReplayServer
) -> None:
    before = len(dify.seen("/chat-messages"))
    for mode in ("streaming", "blocking"):
        lines = chat(probe, "real-chat", "Hi", mode=mode, conversation_id="0b0e1c57-0000-4000-8000-000000000000")
        assert lines == rejected_as_recorded(
            f"inner_chat_unknown_conv_{'stream' if mode == 'streaming' else 'blocking'}"
        )
    assert len(dify.seen("/chat-messages")) == before  # the Service API's silent stream is never opened


def test_a_refused_request_is_the_inner_apis_400_at_once(probe: RunningDevkit, dify: ReplayServer) -> None:
    before = len(dify.seen("/workflows/run"))
    lines = call(probe, "workflow", app_id="real-workflow", inputs={}, response_mode="streaming")
    assert lines == rejected_as_recorded("inner_wf_missing_required_stream")
    assert len(dify.seen("/workflows/run")) == before


def test_a_chat_without_a_query_is_refused_as_dify_refuses_a_plugin(probe: RunningDevkit, dify: ReplayServer) -> None:
    before = len(dify.seen("/chat-messages"))
    assert chat(probe, "real-chat", "") == rejected_as_recorded("inner_chat_missing_query")
    assert len(dify.seen("/chat-messages")) == before  # Dify's plugin invocation checks it first


def test_a_server_error_is_the_5xx_and_body_dify_or_its_gateway_sent(probe: RunningDevkit) -> None:
    internal = transcript("failing").response("POST", "/chat-messages", {"query": "crash"})["json"]
    assert chat(probe, "real-failing", "crash") == rejected(500, dify_json_text(internal))
    gateway = transcript("failing").response("POST", "/chat-messages", {"query": "gateway"})["text"]
    assert chat(probe, "real-failing", "gateway") == rejected(502, gateway)


def test_a_refused_connection_is_the_daemons_dial_error(probe: RunningDevkit) -> None:
    [line] = chat(probe, "real-unreachable", "Hi")
    expected = (
        r'invoke app failed: Get "http://127\.0\.0\.1:(\d+)/v1/parameters": '  # the form is read first
        r"dial tcp 127\.0\.0\.1:\1: connect: connection refused"
    )
    assert re.fullmatch(expected, line["error"]), line


def test_a_stream_that_breaks_mid_way_is_read_app_failed_after_its_events(probe: RunningDevkit) -> None:
    lines = chat(probe, "real-failing", "cut")
    assert [line["event"]["answer"] for line in lines[:-1]] == [" I", "'m"]
    assert lines[-1] == {"error": "read app failed: unexpected EOF\nfailed to read system header"}


def test_a_stream_running_past_the_cap_is_cut_with_the_daemons_read_error(probe: RunningDevkit) -> None:
    started = time.monotonic()
    lines = chat(probe, "real-failing", "slow")
    took = time.monotonic() - started
    assert [line["event"]["answer"] for line in lines[:-1]] == [" I"]
    assert lines[-1] == {"error": f"read app failed: {APP_READ_TIMEOUT_ERROR}"}
    assert STREAM_CAP <= took < STREAM_CAP + 10  # slack for a busy machine: the lines above show the cut


def test_fetch_app_failures_are_the_daemons_fetch_errors(probe: RunningDevkit) -> None:
    # the daemon reads only `data` from what Dify answers: an error body has none
    assert call(probe, "fetch_app", app_id="real-revoked") == [{"error": "fetch app failed: data is nil"}]
    [line] = call(probe, "fetch_app", app_id="real-unreachable")
    assert line["error"].startswith('fetch app failed: Get "http://127.0.0.1:')
    assert line["error"].endswith(": connect: connection refused")


def test_the_console_names_failures_but_never_a_key(probe: RunningDevkit) -> None:
    chat(probe, "real-revoked", "Hi")
    log = probe.log()
    assert "app 'real-revoked': GET" in log  # its form, before the run
    assert "answered 401" in log
    for key in KEYS.values():
        assert key not in log


def test_calls_to_real_apps_are_counted_like_demo_calls(probe: RunningDevkit) -> None:
    before = probe.app_calls().get("real-completion", 0)
    call(probe, "completion", app_id="real-completion", inputs={}, response_mode="blocking")
    assert probe.app_calls()["real-completion"] == before + 1
    assert httpx.get(f"{probe.base_url}/health/check", timeout=5).status_code == 200
