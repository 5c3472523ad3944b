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

from dify_plugin_devkit._runtime.stdio import WRITE_RETRY_BUDGET
from dify_plugin_devkit.testing import MODES, RunningDevkit, pid_alive, start_devkit

CONFIG = {
    "endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}],
    "daemon": {"max_execution_timeout": 2},
}
#: Serverless: the call's deadline runs from the moment it is sent, restart included, so a
#: 2 s one fails a request that waits for a restart on a busy machine; no test here needs
#: it short (local's `killed by timeout` is the endpoint's timer, from the first chunk).
SERVERLESS_CONFIG = {**CONFIG, "daemon": {"max_execution_timeout": 60}}
#: Bounds for waits on a restart: a plugin start-up takes about a second on an idle
#: machine, many on a busy one (the devkit itself allows READY_TIMEOUT, 60 s).
RESTART_TIMEOUT = 120.0


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def devkit(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    config = SERVERLESS_CONFIG if mode == "serverless" else CONFIG
    devkit = start_devkit(PROBE_PLUGIN, config, workdir=tmp_path_factory.mktemp(mode), mode=mode)
    yield devkit
    devkit.stop()


def wait_for_restart(devkit: RunningDevkit, restarts: int, timeout: float = RESTART_TIMEOUT) -> dict:
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
    return Served(httpx.get(devkit.url("probe", "/framing"), timeout=RESTART_TIMEOUT))


def kill(pid: int) -> None:
    """SIGKILL the plugin and return once it is dead: a request sent while the kernel has
    not yet closed its stdin could still be written to it, and never be answered."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + RESTART_TIMEOUT
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} outlived SIGKILL"
        time.sleep(0.01)


def test_crashed_plugin_is_restarted_and_serves_the_next_request(devkit: RunningDevkit, mode: str) -> None:
    before = devkit.stats()
    if mode == "local":
        # nobody fails the request that was on the dead process: it waits for its client to give up
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(devkit.url("probe", "/exit?when=now&code=3"), timeout=5)
    else:
        # the daemon retries a call that got no answer (the new process dies too), until its
        # attempts (or its deadline) run out
        response = httpx.get(devkit.url("probe", "/exit?when=now&code=3"), timeout=RESTART_TIMEOUT)
        assert response.status_code == 500
        inner = json.loads(json.loads(response.json()["message"])["message"])
        assert inner["error_type"] == "PluginDaemonInnerError"
        assert inner["message"].startswith("Error sending request to serverless: ")
    stats = wait_for_restart(devkit, before["plugin_restarts"] + 1)
    assert stats["last_plugin_exit"] == "it exited with code 3"
    assert stats["plugin_pid"] != before["plugin_pid"]
    assert served(devkit)
    assert devkit.process.poll() is None
    log = devkit.wait_for_log("[devkit] plugin restarted (pid")
    assert f"[devkit] the plugin process (pid {before['plugin_pid']}) ended: it exited with code 3" in log


def test_request_in_flight_when_the_plugin_dies_ends_with_what_the_daemon_writes(
    devkit: RunningDevkit, mode: str
) -> None:
    before = devkit.stats()
    started = time.monotonic()
    response = httpx.get(devkit.url("probe", "/exit?when=after-chunk&code=4"), timeout=RESTART_TIMEOUT)
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
    kill(before["plugin_pid"])
    stats = wait_for_restart(devkit, before["plugin_restarts"] + 1)
    assert stats["last_plugin_exit"] == "killed by SIGKILL"
    assert served(devkit)


def test_request_during_a_restart_waits_for_the_new_process(devkit: RunningDevkit, mode: str) -> None:
    """The daemon retries writing the request for up to 6 s (invokePluginOnce); a
    restart takes about a second. On a busy machine it can take longer, and then the
    daemon's 500 `no proper instance` is the right answer: that is checked (the restart
    really took longer than the budget), and the kill is tried again to see the wait."""
    for _attempt in range(3):
        before = devkit.stats()
        killed = time.monotonic()
        kill(before["plugin_pid"])
        answer = served(devkit)
        if answer:
            assert devkit.stats()["plugin_restarts"] == before["plugin_restarts"] + 1
            return
        # serverless waits for a live instance until the call's deadline (60 s here)
        assert mode == "local", answer
        assert answer.response.status_code == 500, answer
        # invokePluginOnce's last error: no live process, or a write to the dead one's pipe
        reason = json.loads(answer.response.json()["message"])["message"]
        assert reason in (
            "no proper instance\nfailed to write request",
            "write |1: broken pipe\nfailed to write request",
        )
        wait_for_restart(devkit, before["plugin_restarts"] + 1)
        assert time.monotonic() - killed > WRITE_RETRY_BUDGET, "answered 500 although the restart was quick"
    pytest.skip(f"three restarts in a row took longer than {WRITE_RETRY_BUDGET:g} s (a very busy machine)")


def test_health_check_and_stats_tell_the_current_plugin(devkit: RunningDevkit) -> None:
    stats = devkit.stats()
    health = httpx.get(f"{devkit.base_url}/health/check", timeout=10).json()
    assert health["plugin_restarts"] == stats["plugin_restarts"] >= 1
    assert health["plugin_pid"] == stats["plugin_pid"] != devkit.plugin_pid  # the ready file's is the first
    assert pid_alive(stats["plugin_pid"])


def test_ctrl_c_stops_the_devkit_and_its_restarted_plugin(devkit: RunningDevkit) -> None:
    pid = devkit.stats()["plugin_pid"]
    assert devkit.stop() == 0
    deadline = time.monotonic() + RESTART_TIMEOUT
    while pid_alive(pid):
        assert time.monotonic() < deadline, "the restarted plugin outlived the devkit"
        time.sleep(0.05)
