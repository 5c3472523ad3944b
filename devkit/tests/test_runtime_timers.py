"""Time limits of the daemon, configured short.

- App streams end DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT after they open, however
  lively (an absolute timer: pkg/utils/http_requests/http_warpper.go), with
  `read app failed: ...` (backwards_invocation/task.go).
- The endpoint's PLUGIN_MAX_EXECUTION_TIMEOUT timer starts at the plugin's first body
  chunk (service.Endpoint runs it after io_tunnel.InvokeEndpoint returned); a
  serverless call also has a context deadline of that length from the moment it is
  sent (serverless_runtime/io.go).
- A serverless app call (transaction) is cut after MAX_SERVERLESS_TRANSACTION_TIMEOUT.
- A local plugin silent for MAX_HEARTBEAT_INTERVAL is killed (instance.Monitor).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from support import PROBE_APPS, PROBE_PLUGIN

from dify_plugin_devkit._backwards import APP_READ_TIMEOUT_ERROR
from dify_plugin_devkit._deadline import iterate_until
from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

ENDPOINTS = [{"hook_id": "probe", "settings": {"greeting": "hello"}}]
STEADY_APP = {
    "id": "probe-steady",
    "name": "Sends a token every 0.2 s for about 3 s",
    "mode": "workflow",
    "script": "workflow",
    "answer": " ".join(f"w{i}" for i in range(16)),
    "token_delay": 0.2,
}
TIMERS = {
    "endpoints": ENDPOINTS,
    "apps": [str(PROBE_APPS), STEADY_APP],
    # a serverless call's deadline runs from the request, so it must stay well behind the
    # app stream's timer (1.5 s after the app call opened) even when reaching the app call
    # takes seconds on a busy machine
    "daemon": {"max_execution_timeout": 5, "app_stream_timeout": 1.5, "heartbeat_timeout": 1.0},
    "plugin_env": {"HEARTBEAT_INTERVAL": "0.2"},
}
READ_APP_FAILED = f"read app failed: {APP_READ_TIMEOUT_ERROR}"
#: What a busy machine may add to a call through the devkit (s). Lower bounds show that a
#: timer did not fire early; upper bounds only tell a timer from the client's 20 s timeout.
BUSY = 10.0


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def timers(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(PROBE_PLUGIN, TIMERS, workdir=tmp_path_factory.mktemp(mode), mode=mode)
    yield devkit
    devkit.stop()


def call_app(devkit: RunningDevkit, app_id: str, **ask: object) -> tuple[list[dict], float]:
    ask = {"kind": "workflow", "app_id": app_id, "inputs": {}, "response_mode": "streaming", **ask}
    started = time.monotonic()
    response = httpx.post(devkit.url("probe", "/app"), json=ask, timeout=20)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()], time.monotonic() - started


def daemon_error_text(text: str) -> str:
    """The `message` of the daemon's error JSON at the end of a streamed body."""
    return json.loads(json.loads(text[text.index('{"code"') :])["message"])["message"]


# -- app streams ------------------------------------------------------------------------
def test_iterate_until_is_an_absolute_deadline() -> None:
    async def ticks() -> AsyncIterator[int]:
        for index in range(100):
            await asyncio.sleep(0.05)
            yield index

    async def collect(seen: list[int]) -> None:
        async for item in iterate_until(ticks(), 0.3):
            seen.append(item)

    seen: list[int] = []
    with pytest.raises(TimeoutError):
        asyncio.run(collect(seen))
    assert 1 <= len(seen) <= 6  # items kept coming (not an idle timer), and were cut at 0.3 s


def test_silent_app_stream_ends_with_read_app_failed_when_the_read_timeout_passes(timers: RunningDevkit) -> None:
    lines, elapsed = call_app(timers, "probe-silent", kind="chat", query="hi")
    assert lines[0]["event"]["answer"] == "one"
    assert lines[-1] == {"error": READ_APP_FAILED}
    assert 1.4 < elapsed < 1.5 + BUSY


def test_app_stream_timer_is_absolute_a_lively_stream_is_cut_too(timers: RunningDevkit) -> None:
    lines, elapsed = call_app(timers, "probe-steady")
    chunks = [line["event"] for line in lines[:-1] if line["event"].get("event") == "text_chunk"]
    assert 3 <= len(chunks) < 16  # events kept flowing every 0.2 s, and it was still cut
    assert lines[-1] == {"error": READ_APP_FAILED}
    assert elapsed < 1.5 + BUSY


# -- the execution timer -------------------------------------------------------------------
def test_local_execution_timer_starts_at_the_first_chunk_not_at_the_request(timers: RunningDevkit, mode: str) -> None:
    if mode != "local":
        pytest.skip("serverless calls have a deadline from the request: the next test")
    started = time.monotonic()
    response = httpx.get(timers.url("probe", "/slow-start?delay=5.5&count=3&pause=0.1"), timeout=20 + BUSY)
    assert response.status_code == 200
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
    assert time.monotonic() - started > 5.5


def test_serverless_call_is_cut_at_the_execution_timeout_counted_from_the_request(
    timers: RunningDevkit, mode: str
) -> None:
    if mode != "serverless":
        pytest.skip("local mode waits for the first chunk: the previous test")
    started = time.monotonic()
    response = httpx.get(timers.url("probe", "/slow-start?delay=5.5&count=3&pause=0.1"), timeout=20 + BUSY)
    assert response.status_code == 500
    inner = json.loads(json.loads(response.json()["message"])["message"])
    assert inner == {
        "args": None,
        "error_type": "PluginDaemonInnerError",
        "message": "failed to read response body: context deadline exceeded",
    }
    # cut before the plugin's first chunk (at 5.5 s): the 500 with no chunk shows it
    assert time.monotonic() - started > 4.9


def test_stream_running_past_the_execution_timeout_is_cut_with_the_daemons_error(
    timers: RunningDevkit, mode: str
) -> None:
    # the first chunk 1 s after the request: a serverless call has two 5 s timers, one from
    # the request and one from the first chunk; were they a few ms apart, an event loop
    # stalled by a busy machine would run both at once and either could win
    response = httpx.get(timers.url("probe", "/drip?count=100&pause=0.1&first=1"), timeout=20 + BUSY)
    assert response.status_code == 200
    assert 0 < response.text.count("drop ") < 100
    if mode == "local":
        assert daemon_error_text(response.text) == "killed by timeout"
    else:  # the serverless call's deadline (from the request) comes first
        assert '{"args"' in response.text, response.text[-300:]
        tail = response.text[response.text.index('{"args"') :]
        assert json.loads(tail)["message"] == "failed to read response body: context deadline exceeded"


# -- heartbeats ---------------------------------------------------------------------------
def test_plugin_that_sends_heartbeats_is_never_killed(timers: RunningDevkit, mode: str) -> None:
    if mode != "local":
        pytest.skip("the daemon watches heartbeats of local plugins only")
    time.sleep(2.0)  # twice the configured heartbeat_timeout, after all the tests above
    assert timers.stats()["plugin_restarts"] == 0


def test_plugin_silent_past_the_heartbeat_timeout_is_killed_and_restarted(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = {"endpoints": ENDPOINTS, "daemon": {"heartbeat_timeout": 1.0}, "plugin_env": {"HEARTBEAT_INTERVAL": "30"}}
    devkit = start_devkit(PROBE_PLUGIN, config, workdir=tmp_path_factory.mktemp("silent"))
    try:
        deadline = time.monotonic() + 1.0 + 60 + BUSY  # the kill, then a restart (READY_TIMEOUT)
        while (stats := devkit.stats())["plugin_restarts"] < 1:
            assert time.monotonic() < deadline, stats
            time.sleep(0.05)
        assert "sent no heartbeat (nor any stdout or stderr line) for 1." in stats["last_plugin_exit"]
        assert devkit.process.poll() is None  # `run` carries on with the new process
        devkit.wait_for_log("[devkit] plugin restarted (pid")
    finally:
        assert devkit.stop() == 0


# -- serverless transactions -----------------------------------------------------------------
def test_serverless_app_call_ends_quietly_when_the_transaction_timeout_passes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The daemon's transaction handler returns: the SDK sees the stream end, no error."""
    config = {
        "endpoints": ENDPOINTS,
        "apps": [str(PROBE_APPS)],
        "daemon": {"serverless_transaction_timeout": 1.0},
    }
    devkit = start_devkit(PROBE_PLUGIN, config, workdir=tmp_path_factory.mktemp("transaction"), mode="serverless")
    try:
        lines, elapsed = call_app(devkit, "probe-silent", kind="chat", query="hi")
        assert [line["event"]["answer"] for line in lines] == ["one"]
        assert 0.9 < elapsed < 1.0 + BUSY
    finally:
        devkit.stop()
