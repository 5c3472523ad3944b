"""The plugin process killed mid-stream (SIGKILL): the requests in flight end with an
error their clients can read, the devkit starts a new plugin process as the daemon
does, and the next requests succeed.

What "an error the client can read" is comes from the daemon, not from the plugin (which
is dead): once a response began, its status and head are gone, and the daemon writes its
error JSON into the body and closes it.
- local (stdio): nobody tells the session its process died; the endpoint's execution
  timer (PLUGIN_MAX_EXECUTION_TIMEOUT, 600 s by default, 6 s here) ends it with
  `killed by timeout`. A request whose response had not begun (a blocking run) has no
  timer: it waits until its client gives up.
- serverless: the call's stream breaks at once: `failed to read response body:
  unexpected EOF`, in the body of a stream. A call whose answer had not begun (a blocking
  run) is sent again, to the new process: the app runs a second time.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from dify_plugin_devkit.testing import MODES, start_devkit
from tests.robustness.conftest import Robust
from tests.robustness.support import LAST_WORD, config, leaks_in, plugin_dir, wait_until
from tests.robustness.test_disconnects import next_requests_are_served

EXECUTION_TIMEOUT = 6.0  # longer than a slow answer (~2.5 s): only the crash cuts it
STREAMS = (
    ("POST", "/workflow", {"json": {}}),
    ("GET", "/completion", {}),
    ("GET", "/duck", {"params": {"query": "hi"}}),
    ("POST", "/duck", {"data": {"query": "hi"}}),
)
#: The daemon's words for a session whose plugin died, by install method.
DEATH_NOTICE = {"local": "killed by timeout", "serverless": "unexpected EOF"}


@pytest.fixture(params=MODES)
def crashable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Robust]:
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    settings = {**config(probe_dir), "daemon": {"max_execution_timeout": EXECUTION_TIMEOUT}}
    devkit = start_devkit(plugin_dir(), settings, mode=request.param, workdir=tmp_path)
    yield Robust(devkit, request.param, probe_dir)
    devkit.stop()


def stream_through_a_crash(url: str, method: str, kwargs: dict, started: list[str]) -> tuple[int, bytes, float]:
    """Read a slow stream to its end; say when the first words arrived."""
    body = b""
    with httpx.Client(timeout=EXECUTION_TIMEOUT + 20) as client, client.stream(method, url, **kwargs) as response:
        for chunk in response.iter_raw():
            body += chunk
            if b"word1" in body and f"{method} {url}" not in started:
                started.append(f"{method} {url}")
        return response.status_code, body, time.monotonic()


def blocking_through_a_crash(url: str) -> httpx.Response | str:
    try:
        return httpx.post(url, json={"response_mode": "blocking"}, timeout=EXECUTION_TIMEOUT + 4)
    except httpx.ReadTimeout:
        return "the client gave up"


def test_a_plugin_killed_mid_stream_ends_the_streams_readably_and_is_replaced(crashable: Robust) -> None:
    devkit, mode = crashable.devkit, crashable.mode
    before = devkit.stats()
    started: list[str] = []
    with ThreadPoolExecutor(len(STREAMS) + 1) as pool:
        streams = [
            pool.submit(stream_through_a_crash, devkit.url("slow", path), method, kwargs, started)
            for method, path, kwargs in STREAMS
        ]
        blocking = pool.submit(blocking_through_a_crash, devkit.url("slow", "/completion"))
        wait_until(lambda: len(started), lambda n: n == len(STREAMS), 10, "streams under way")
        # the blocking run is in flight too: its app call began (the GET /completion stream makes the other)
        calls = before["app_calls"].get("rb-slow-completion", 0) + 2
        wait_until(lambda: devkit.app_calls().get("rb-slow-completion", 0), lambda n: n >= calls, 10, "blocking run")
        os.kill(before["plugin_pid"], signal.SIGKILL)
        killed_at = time.monotonic()
        ended = [s.result() for s in streams]
        blocked = blocking.result()

    for status, body, at in ended:
        text = body.decode(errors="replace")
        assert status == 200
        assert b"word1" in body
        assert LAST_WORD not in body  # cut short by the crash
        assert DEATH_NOTICE[mode] in text, text[-300:]
        assert at - killed_at < EXECUTION_TIMEOUT + 3
        assert not leaks_in(text.replace(DEATH_NOTICE[mode], "")), text[-300:]
    if mode == "local":
        assert blocked == "the client gave up"
    else:
        assert isinstance(blocked, httpx.Response)
        # a call that broke before its answer began is sent again (invokeServerlessWithRetry):
        # the run starts over on the new process (the app runs twice) and answers, unless the
        # restart took it past the (shortened) execution deadline: readable JSON either way
        assert blocked.status_code in (200, 500), blocked.text
        assert blocked.json()
        assert not leaks_in(blocked.text), blocked.text

    stats, _ = wait_until(
        devkit.stats, lambda s: s["plugin_restarts"] == 1 and s["plugin_pid"] is not None, 30, "plugin restart"
    )
    assert stats["plugin_pid"] != before["plugin_pid"]
    assert stats["last_plugin_exit"] == "killed by SIGKILL"
    next_requests_are_served(crashable)
    wait_until(lambda: devkit.stats()["open_sessions"], lambda n: n == 0, 10, "open sessions")
