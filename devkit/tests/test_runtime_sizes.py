"""Size limits of the daemon, at their production defaults and configured small.

- A local plugin's stdout is read with a bufio.Scanner of PLUGIN_RUNTIME_MAX_BUFFER_SIZE
  (5,242,880 bytes): a line of that size or more ends the scan and the daemon kills
  the plugin (local_runtime/instance.go StartStdout); a serverless plugin's answer is
  read the same way, and the session fails instead (serverless_runtime/io.go).
- A serverless request line over MAX_SERVERLESS_REQUEST_BYTES (5 MiB) is never sent:
  500 `ServerlessPayloadTooLarge` (serverless_runtime/io.go WriteContext).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit._runtime.base import LineSplitter
from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

ENDPOINTS = [{"hook_id": "probe", "settings": {"greeting": "hello"}}]
SMALL_LINE = 100_000
SMALL_PAYLOAD = 50_000


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def default(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    """Production limits."""
    devkit = start_devkit(PROBE_PLUGIN, {"endpoints": ENDPOINTS}, workdir=tmp_path_factory.mktemp(mode), mode=mode)
    yield devkit
    devkit.stop()


@pytest.fixture(scope="module")
def small(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    config = {
        "endpoints": ENDPOINTS,
        "daemon": {"max_stdout_line_bytes": SMALL_LINE, "max_serverless_request_bytes": SMALL_PAYLOAD},
    }
    devkit = start_devkit(PROBE_PLUGIN, config, workdir=tmp_path_factory.mktemp(f"small-{mode}"), mode=mode)
    yield devkit
    devkit.stop()


def wait_for_restart(devkit: RunningDevkit, restarts: int, timeout: float = 120.0) -> dict:
    """A restart takes about a second on an idle machine, many on a busy one (the devkit
    allows READY_TIMEOUT, 60 s)."""
    deadline = time.monotonic() + timeout
    while (stats := devkit.stats())["plugin_restarts"] < restarts:
        assert time.monotonic() < deadline, f"the plugin was not restarted: {stats}"
        time.sleep(0.05)
    return stats


def inner_message(response: httpx.Response) -> str:
    """The text inside the daemon's 500 body (`message` is itself JSON)."""
    assert response.status_code == 500, response.text
    return json.loads(response.json()["message"])["message"]


# -- the scanner's rule ------------------------------------------------------------------
def test_a_line_must_fit_with_its_newline_in_the_scanner_buffer() -> None:
    splitter = LineSplitter(10)
    assert splitter.feed(b"123456789\nabc") == [b"123456789"]  # 9 bytes + "\n" = 10: fits
    assert splitter.overflow is None
    assert splitter.feed(b"defghij\n") == []  # 10 bytes before the newline: ErrTooLong
    assert splitter.overflow == 10
    unfinished = LineSplitter(10)
    assert unfinished.feed(b"0123456789") == []  # a full buffer and no newline yet: too long already
    assert unfinished.overflow == 10


# -- stdout lines ------------------------------------------------------------------------
def test_response_chunk_over_the_default_line_limit_kills_a_local_plugin_or_fails_a_serverless_call(
    default: RunningDevkit, mode: str
) -> None:
    """3 MB in one chunk is 6 MB of hex in one line: over 5,242,880 bytes."""
    before = default.stats()
    if mode == "local":
        # the daemon never reads the answer: the client waits until it gives up
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(default.url("probe", "/big?bytes=3000000"), timeout=2)
        stats = wait_for_restart(default, before["plugin_restarts"] + 1)
        assert "a stdout line reached 5242880 bytes (bufio.Scanner: token too long)" in stats["last_plugin_exit"]
        assert stats["plugin_pid"] != before["plugin_pid"]
        assert httpx.get(default.url("probe", "/big?bytes=1000"), timeout=10).content == b"x" * 1000
    else:
        response = httpx.get(default.url("probe", "/big?bytes=3000000"), timeout=10)
        assert json.loads(inner_message(response)) == {
            "args": None,
            "error_type": "PluginDaemonInnerError",
            "message": "failed to read response body: bufio.Scanner: token too long",
        }
        assert default.stats()["plugin_restarts"] == before["plugin_restarts"]


def test_response_chunk_under_the_default_line_limit_goes_through(default: RunningDevkit) -> None:
    response = httpx.get(default.url("probe", "/big?bytes=2500000"), timeout=30)
    assert response.status_code == 200
    assert len(response.content) == 2_500_000


def test_stdout_line_one_byte_under_the_configured_limit_is_read(small: RunningDevkit) -> None:
    before = small.stats()
    response = httpx.get(small.url("probe", f"/shout?bytes={SMALL_LINE - 1}"), timeout=10)
    assert response.text == "shouted\n"
    assert small.stats()["plugin_restarts"] == before["plugin_restarts"]


def test_stdout_line_at_the_configured_limit_kills_a_local_plugin_only(small: RunningDevkit, mode: str) -> None:
    before = small.stats()
    if mode == "local":
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(small.url("probe", f"/shout?bytes={SMALL_LINE}"), timeout=2)
        stats = wait_for_restart(small, before["plugin_restarts"] + 1)
        assert f"a stdout line reached {SMALL_LINE} bytes" in stats["last_plugin_exit"]
        small.wait_for_log(f"ended: a stdout line reached {SMALL_LINE} bytes")
    else:  # a serverless plugin's stdout is its console, not the protocol
        assert httpx.get(small.url("probe", f"/shout?bytes={SMALL_LINE}"), timeout=10).text == "shouted\n"
        assert small.stats()["plugin_restarts"] == before["plugin_restarts"]


# -- serverless request size ---------------------------------------------------------------
def test_serverless_request_over_5_mib_is_refused_with_serverless_payload_too_large(
    default: RunningDevkit, mode: str
) -> None:
    """A 3 MB body is a 6 MB hex request line; local mode has no such limit."""
    response = httpx.post(default.url("probe", "/framing"), content=b"y" * 3_000_000, timeout=30)
    if mode == "local":
        assert json.loads(response.headers["X-Framing"])["body_length"] == 3_000_000
        return
    message = inner_message(response)
    assert re.fullmatch(
        r"ServerlessPayloadTooLarge: action=invoke_endpoint payload_bytes=(\d+) max_request_bytes=5242880"
        r"\nfailed to write request",
        message,
    )
    assert json.loads(response.json()["message"])["error_type"] == "PluginDaemonInternalServerError"
    assert 6_000_000 < int(message.split("payload_bytes=")[1].split()[0]) < 6_002_000
    ok = httpx.post(default.url("probe", "/framing"), content=b"y" * 2_000_000, timeout=30)
    assert json.loads(ok.headers["X-Framing"])["body_length"] == 2_000_000


def test_serverless_request_limit_is_configurable(small: RunningDevkit, mode: str) -> None:
    over = httpx.post(small.url("probe", "/framing"), content=b"y" * 30_000, timeout=10)
    under = httpx.post(small.url("probe", "/framing"), content=b"y" * 10_000, timeout=10)
    assert json.loads(under.headers["X-Framing"])["body_length"] == 10_000
    if mode == "local":
        assert json.loads(over.headers["X-Framing"])["body_length"] == 30_000
    else:
        assert f"max_request_bytes={SMALL_PAYLOAD}\nfailed to write request" in inner_message(over)
