"""A plugin process that dies is replaced, as the daemon's schedule loop replaces it.

Local (internal/core/local_runtime/control.go scheduleLoop): a new process is started;
sessions that were running on the dead one are not told (their listeners just get
nothing more): a response that began ends with `killed by timeout` when the
execution timer fires, one that had not begun waits until its client gives up.
Serverless (serverless_runtime/io.go): the call's stream breaks and the session
fails with `failed to read response body: unexpected EOF`; the devkit starts the
process again as a serverless platform would.
`dify-devkit run` carries on through all of it, and still stops on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit.testing import MODES, RunningDevkit, pid_alive, start_devkit

CONFIG = {
    "endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}],
    "daemon": {"max_execution_timeout": 2},
}


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def devkit(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, workdir=tmp_path_factory.mktemp(mode), mode=mode)
    yield devkit
    devkit.stop()


def wait_for_restart(devkit: RunningDevkit, restarts: int, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while (stats := devkit.stats())["plugin_restarts"] < restarts or stats["plugin_pid"] is None:
        assert time.monotonic() < deadline, f"the plugin was not restarted: {stats}"
        time.sleep(0.05)
    return stats


class Served:
    """Whether a GET reached the plugin and came back; its repr shows the answer when not."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __bool__(self) -> bool:
        framing = self.response.headers.get("X-Framing")
        return self.response.status_code == 200 and framing is not None and json.loads(framing)["method"] == "GET"

    def __repr__(self) -> str:
        return f"<{self.response.status_code} {self.response.text[:500]!r}>"


def served(devkit: RunningDevkit) -> Served:
    return Served(httpx.get(devkit.url("probe", "/framing"), timeout=15))


def test_crashed_plugin_is_restarted_and_serves_the_next_request(devkit: RunningDevkit, mode: str) -> None:
    before = devkit.stats()
    if mode == "local":
        # nobody fails the request that was on the dead process: it waits for its client to give up
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(devkit.url("probe", "/exit?when=now&code=3"), timeout=1.5)
    else:
        # the daemon retries a call that got no answer (the new process dies too), until its deadline
        response = httpx.get(devkit.url("probe", "/exit?when=now&code=3"), timeout=15)
        assert response.status_code == 500
        inner = json.loads(json.loads(response.json()["message"])["message"])
        assert inner["error_type"] == "PluginDaemonInnerError"
        assert inner["message"].startswith("Error sending request to serverless: ")
    stats = wait_for_restart(devkit, before["plugin_restarts"] + 1)
    assert stats["last_plugin_exit"] == "it exited with code 3"
    assert stats["plugin_pid"] != before["plugin_pid"]
    assert served(devkit)
    assert devkit.process.poll() is None
    log = devkit.log()
    assert f"[devkit] the plugin process (pid {before['plugin_pid']}) ended: it exited with code 3" in log
    assert "[devkit] plugin restarted (pid" in log


def test_request_in_flight_when_the_plugin_dies_ends_with_what_the_daemon_writes(
    devkit: RunningDevkit, mode: str
) -> None:
    before = devkit.stats()
    started = time.monotonic()
    response = httpx.get(devkit.url("probe", "/exit?when=after-chunk&code=4"), timeout=15)
    assert response.status_code == 200
    assert response.text.startswith("first\n")
    tail = response.text.removeprefix("first\n")
    if mode == "local":  # the execution timer (started at the first chunk) ends it
        assert json.loads(json.loads(tail)["message"])["message"] == "killed by timeout"
        assert time.monotonic() - started > 2
    else:
        assert json.loads(tail) == {
            "args": None,
            "error_type": "PluginDaemonInnerError",
            "message": "failed to read response body: unexpected EOF",
        }
    assert wait_for_restart(devkit, before["plugin_restarts"] + 1)["last_plugin_exit"] == "it exited with code 4"
    assert served(devkit)


def test_plugin_killed_from_outside_is_restarted(devkit: RunningDevkit) -> None:
    before = devkit.stats()
    os.kill(before["plugin_pid"], signal.SIGKILL)
    stats = wait_for_restart(devkit, before["plugin_restarts"] + 1)
    assert stats["last_plugin_exit"] == "killed by SIGKILL"
    assert served(devkit)


def test_request_during_a_restart_waits_for_the_new_process(devkit: RunningDevkit) -> None:
    """The daemon retries writing the request for up to 6 s (invokePluginOnce); a
    restart takes about a second."""
    before = devkit.stats()
    os.kill(before["plugin_pid"], signal.SIGKILL)
    assert served(devkit)
    assert devkit.stats()["plugin_restarts"] == before["plugin_restarts"] + 1


def test_health_check_and_stats_tell_the_current_plugin(devkit: RunningDevkit) -> None:
    stats = devkit.stats()
    health = httpx.get(f"{devkit.base_url}/health/check", timeout=10).json()
    assert health["plugin_restarts"] == stats["plugin_restarts"] >= 1
    assert health["plugin_pid"] == stats["plugin_pid"] != devkit.plugin_pid  # the ready file's is the first
    assert pid_alive(stats["plugin_pid"])


def test_ctrl_c_stops_the_devkit_and_its_restarted_plugin(devkit: RunningDevkit) -> None:
    pid = devkit.stats()["plugin_pid"]
    assert devkit.stop() == 0
    deadline = time.monotonic() + 10
    while pid_alive(pid):
        assert time.monotonic() < deadline, "the restarted plugin outlived the devkit"
        time.sleep(0.05)
