"""The devkit runs a plugin as Dify's daemon does: both install methods, real HTTP.

Every test runs against the `probe` fixture plugin (nothing gallery-specific), in
local (stdio) and serverless mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support import PROBE_APPS, PROBE_PLUGIN

from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

CONFIG = f"""
endpoints:
  - hook_id: probe
    settings:
      greeting: hello
      app: demo-chat-echo
apps: [{PROBE_APPS}]
"""
STRICT_CONFIG = (
    CONFIG
    + """
daemon:
  max_execution_timeout: 2
  oversize_body: truncate
  max_body_bytes: 1000
"""
)


@pytest.fixture(scope="module", params=MODES)
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, workdir=tmp_path_factory.mktemp(request.param), mode=request.param)
    yield devkit
    devkit.stop()


@pytest.fixture(scope="module", params=MODES)
def strict(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(
        PROBE_PLUGIN, STRICT_CONFIG, workdir=tmp_path_factory.mktemp(request.param), mode=request.param
    )
    yield devkit
    devkit.stop()


def call_app(client: httpx.Client, probe: RunningDevkit, **ask: object) -> list[dict]:
    response = client.post(probe.url("probe", "/app"), json=ask)
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


def answer_of(lines: list[dict]) -> str:
    return "".join(line["event"].get("answer", "") for line in lines if "event" in line)


# -- the request as the plugin sees it ---------------------------------------------
def test_request_round_trip_keeps_method_path_query_headers_body(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(
        probe.url("probe", "/echo/a%20b/c") + "?z=1&a=2&a=3",
        content=b"hello body",
        headers={"X-Custom": "v1", "Content-Type": "text/plain"},
    )
    assert response.status_code == 201
    assert response.headers["X-Probe"] == "1"
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo/a b/c"
    assert seen["rest"] == "a b/c"
    assert seen["query"] == [["a", "2"], ["a", "3"], ["z", "1"]]  # Go's Values.Encode sorts keys
    assert seen["body"] == "hello body"
    headers = dict(seen["headers"])
    assert headers["X-Custom"] == "v1"
    assert headers["Content-Length"] == "10"
    assert headers["Dify-Hook-Id"] == "probe"
    assert headers["Dify-Hook-Url"] == probe.url("probe", "/echo/a b/c")
    assert seen["settings"] == {"greeting": "hello", "app": {"app_id": "demo-chat-echo"}, "loud": False}


def test_proxy_headers_are_removed_and_original_host_is_used(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(
        probe.url("probe", "/echo/x"),
        headers={"X-Forwarded-For": "10.0.0.1", "X-Real-IP": "10.0.0.2", "X-Original-Host": "dify.example.org"},
    )
    headers = dict(response.json()["headers"])
    assert "X-Forwarded-For" not in headers
    assert "X-Real-Ip" not in headers
    assert "X-Original-Host" not in headers
    assert headers["Host"] == "dify.example.org"
    assert headers["Dify-Hook-Url"] == "http://dify.example.org/e/probe/echo/x"


def test_header_name_with_underscore_is_refused_by_the_sdk(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(probe.url("probe", "/echo/x"), headers={"X_Bad": "1"})
    assert response.status_code == 500
    assert "Invalid HTTP header" in response.json()["message"]


def test_unknown_hook_id_is_404(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(probe.url("nope", "/echo/x"))
    assert response.status_code == 404
    assert "endpoint not found" in response.json()["message"]


def test_undeclared_route_is_404_from_the_sdk(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(probe.url("probe", "/nowhere"))
    assert response.status_code == 404
    assert "Failed to dispatch endpoint request" in response.text


# Bodies over 10 MiB, empty bodies, methods and disabled endpoints:
# test_daemon_request_and_routing.py. (Echoing a 10 MiB body back in one chunk would
# kill a local plugin: 20 MiB of hex in one stdout line, see test_runtime_sizes.py.)


# -- how the response is relayed ---------------------------------------------------
def test_exception_before_responding_is_500_with_the_sdk_text(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(probe.url("probe", "/fail/early"))
    assert response.status_code == 500
    assert response.text == "Internal Server Error: probe failed before responding"


def test_value_error_before_responding_becomes_404_as_in_the_sdk(probe: RunningDevkit, client: httpx.Client) -> None:
    """A quirk of dify_plugin's invoke_endpoint: `except ValueError` answers 404."""
    response = client.get(probe.url("probe", "/fail/valueerror"))
    assert response.status_code == 404
    assert response.text == "probe refused the value"


def test_error_after_streaming_began_is_written_into_the_body(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(probe.url("probe", "/fail/late"))
    assert response.status_code == 200
    assert response.text.startswith("first\nsecond\n")
    error = json.loads(response.text.removeprefix("first\nsecond\n"))
    assert error["error_type"] == "RuntimeError"
    assert error["message"] == "probe failed mid-stream"


def test_each_chunk_is_flushed_while_the_app_is_still_running(probe: RunningDevkit) -> None:
    """probe-silent sends one event and then never ends: anything buffered on the way
    (plugin, daemon, HTTP) would hold it back and this read would time out."""
    with httpx.Client(timeout=httpx.Timeout(15.0)) as client:
        ask = {"kind": "chat", "app_id": "probe-silent", "query": "hi", "inputs": {}, "response_mode": "streaming"}
        with client.stream("POST", probe.url("probe", "/app"), json=ask) as response:
            first = json.loads(next(response.iter_lines()))
    assert first["event"]["event"] == "message"
    assert first["event"]["answer"] == "one"


def test_drip_chunks_arrive_separately_and_complete(probe: RunningDevkit, client: httpx.Client) -> None:
    with client.stream("GET", probe.url("probe", "/drip") + "?count=4&pause=0.1") as response:
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == b"drop 0\ndrop 1\ndrop 2\ndrop 3\n"
    assert len(chunks) >= 2  # not one buffered blob


# -- app calls (reverse invocation) ------------------------------------------------
def test_fifty_concurrent_sessions_through_one_plugin_get_their_own_answers(probe: RunningDevkit) -> None:
    def ask(index: int) -> str:
        with httpx.Client(timeout=60) as client:
            lines = call_app(
                client,
                probe,
                kind="chat",
                app_id="demo-chat-echo",
                query=f"question {index}",
                inputs={},
                response_mode="streaming",
            )
        return answer_of(lines)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(ask, range(50)))
    assert answers == [f"Turn 1: question {i}" for i in range(50)]


def test_second_turn_with_returned_conversation_id_continues_it(probe: RunningDevkit, client: httpx.Client) -> None:
    first = call_app(
        client, probe, kind="chat", app_id="demo-chat-echo", query="hello", inputs={}, response_mode="streaming"
    )
    conversation_id = first[0]["event"]["conversation_id"]
    second = call_app(
        client,
        probe,
        kind="chat",
        app_id="demo-chat-echo",
        query="again",
        inputs={},
        response_mode="streaming",
        conversation_id=conversation_id,
    )
    assert answer_of(first) == "Turn 1: hello"
    assert answer_of(second) == "Turn 2: again"
    assert {line["event"]["conversation_id"] for line in second} == {conversation_id}


def test_blocking_call_returns_difys_single_result(probe: RunningDevkit, client: httpx.Client) -> None:
    lines = call_app(
        client, probe, kind="chat", app_id="demo-chat-echo", query="hi", inputs={}, response_mode="blocking"
    )
    assert len(lines) == 1
    result = lines[0]["event"]
    assert result["event"] == "message"
    assert result["mode"] == "chat"
    assert result["answer"] == "Turn 1: hi"


def test_chat_app_needs_a_query(probe: RunningDevkit, client: httpx.Client) -> None:
    empty = call_app(
        client, probe, kind="chat", app_id="demo-chat-echo", query="", inputs={}, response_mode="streaming"
    )
    wrong_interface = call_app(
        client, probe, kind="workflow", app_id="demo-chat-echo", inputs={}, response_mode="streaming"
    )
    for lines in (empty, wrong_interface):
        assert "missing query" in lines[-1]["error"]
        assert lines[-1]["error"].startswith("invoke app failed: request failed with status code: 400")


def test_unknown_app_is_app_not_found(probe: RunningDevkit, client: httpx.Client) -> None:
    lines = call_app(client, probe, kind="workflow", app_id="no-such-app", inputs={}, response_mode="blocking")
    assert "app not found" in lines[-1]["error"]


def test_app_failing_mid_stream_reaches_the_plugin_as_an_exception(probe: RunningDevkit, client: httpx.Client) -> None:
    ask = {"kind": "workflow", "app_id": "demo-workflow-breaks", "inputs": {}, "response_mode": "streaming"}
    lines = call_app(client, probe, **ask)
    assert [line["event"]["event"] for line in lines[:-1]] == ["workflow_started", "node_started"]
    assert lines[-1]["error"].startswith("read app failed: request failed: ")


def test_app_error_event_is_relayed_as_an_event(probe: RunningDevkit, client: httpx.Client) -> None:
    lines = call_app(
        client, probe, kind="chat", app_id="demo-chat-fails", query="hi", inputs={}, response_mode="streaming"
    )
    assert [line["event"]["event"] for line in lines] == ["message", "message", "message", "error"]


# -- console -------------------------------------------------------------------------
def test_plugin_logs_and_stderr_are_prefixed_in_the_console(
    probe: RunningDevkit, request: pytest.FixtureRequest
) -> None:
    log = probe.log()
    # local mode logs its endpoints as `log` events; serverless prints its server banner.
    # Each mode asserts its own marker: an `or` would let either mode pass on the other's.
    marker = {"local": "[plugin] INFO: Installed endpoint", "serverless": "[plugin] OUT: * Serving Flask app"}
    assert marker[request.node.callspec.params["probe"]] in log
    assert "[plugin:stderr] probe endpoints loaded" in log


# -- limits ----------------------------------------------------------------------------
# The execution timer (from the first chunk; from the request for a serverless call)
# and the other time limits: test_runtime_timers.py; sizes: test_runtime_sizes.py.
def test_oversized_body_can_be_truncated_like_the_real_daemon(strict: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(strict.url("probe", "/echo/x"), content=b"y" * 2500)
    assert response.status_code == 201
    assert response.json()["body"] == "y" * 1000
