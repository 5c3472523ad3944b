"""What the robustness tests share: their devkit configuration, the plugin's vital signs,
and the checks every answer must pass (no 5xx for a client mistake, no leaked text, no
leaked secret).

The plugin runs as in every gallery test: the real process behind the devkit, real
HTTP. Two settings are shortened so that what production does in minutes shows here in
seconds, and the tests say where they rely on them:
- keep-alives every second (`keepalive_seconds`; production default 15);
- MAX_INVOCATION_TIMEOUT=3 in the plugin's environment (the SDK's own setting, default
  250): how long the SDK waits on an app stream that went silent before it gives up.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dify_plugin_devkit.testing import RunningDevkit
from tests.conftest import ROOT

PROBE = Path(__file__).resolve().parent / "probe"
#: The api_key of the `locked` endpoint: it must never show in any answer or log line.
SECRET = "rb-" + "9f4c2e7a1d6b" + "-never-echo-me"
#: Keep-alive interval of the test endpoints, seconds.
KEEPALIVE = 1.0
#: The SDK's MAX_INVOCATION_TIMEOUT in the plugin under test, seconds.
INVOCATION_TIMEOUT = 3
#: What no answer body may contain: Python's words (case matters: Dify's own events carry
#: fields like `exceptions_count`) and the daemon's (any case).
PYTHON_LEAKS = ("Traceback", 'File "', "Exception:", "Exception(", "Internal Server Error")
DAEMON_LEAKS = ("invoke app failed", "request failed with status code", "respond with", "read app failed")

#: The slow apps' answer: SLOW_WORDS words, one every 0.25 s (~2.5 s in all).
SLOW_WORDS = 10
LAST_WORD = f"word{SLOW_WORDS - 1}".encode()
_WORDS = " ".join(f"word{i}" for i in range(SLOW_WORDS))


def _slow(app_id: str, mode: str, script: str) -> dict[str, Any]:
    return {"id": app_id, "name": f"slow {mode}", "mode": mode, "script": script, "answer": _WORDS, "token_delay": 0.25}


def _fast(app_id: str, mode: str, variable: str, answer: str) -> dict[str, Any]:
    return {
        "id": app_id,
        "name": f"fast {mode}",
        "mode": mode,
        "script": mode,
        "answer": answer,
        "variables": [{"name": variable, "required": True}],
    }


def config(probe_dir: Path) -> dict[str, Any]:
    """The devkit configuration of the robustness tests (apps from the gallery's
    fixtures plus slow ones; endpoints: slow, silent, open, locked, failing, missing)."""
    fast = {"chat_app": "rb-fast-chat", "workflow_app": "rb-fast-workflow", "completion_app": "rb-fast-completion"}
    every = {"keepalive_seconds": str(int(KEEPALIVE))}
    return {
        "apps": [
            "tests/fixtures/gallery_apps.yaml",
            _slow("rb-slow-chat", "chat", "answer"),
            _slow("rb-slow-workflow", "workflow", "workflow"),
            _slow("rb-slow-completion", "completion", "completion"),
            # the demo apps without their typing delay (the fuzz and the soak send thousands)
            {"id": "rb-fast-chat", "name": "fast chat", "mode": "chat", "script": "echo"},
            _fast("rb-fast-workflow", "workflow", "topic", "Summary of {{topic}}: ducks are waterfowl."),
            _fast("rb-fast-completion", "completion", "name", "Dear {{name}}, thank you."),
        ],
        # completion routes are exercised on purpose: run them as a later Dify does
        "dify": {"quirks": {"completion_from_plugin_fails": False}},
        "endpoints": [
            {
                "hook_id": "slow",
                "settings": {
                    "chat_app": "rb-slow-chat",
                    "workflow_app": "rb-slow-workflow",
                    "completion_app": "rb-slow-completion",
                    **every,
                },
            },
            {
                "hook_id": "silent",
                "settings": {
                    "chat_app": "gallery-silent-chat",
                    "workflow_app": "demo-silent-workflow",
                    "completion_app": "gallery-silent-completion",
                    **every,
                },
            },
            {"hook_id": "open", "settings": {**fast, **every}},
            {"hook_id": "locked", "settings": {**fast, **every, "api_key": SECRET}},
            {
                "hook_id": "failing",
                "settings": {
                    "chat_app": "demo-chat-fails",
                    "workflow_app": "demo-workflow-breaks",
                    "completion_app": "gallery-completion-fails",
                    **every,
                },
            },
            {"hook_id": "missing", "settings": {"chat_app": "no-such-app", "workflow_app": "no-such-app"}},
        ],
        "plugin_env": {
            "PYTHONPATH": str(PROBE),
            "ROBUSTNESS_PROBE_DIR": str(probe_dir),
            "MAX_INVOCATION_TIMEOUT": str(INVOCATION_TIMEOUT),
        },
    }


def plugin_dir() -> Path:
    return ROOT


@dataclass(frozen=True)
class Vitals:
    """One look at the plugin process."""

    pid: int
    rss_kib: int
    threads: int
    fds: int
    greenlets: int
    # greenlets running the plugin's own code (provider/, gallery/, endpoints/): requests being handled
    busy_greenlets: int


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def greenlets(pid: int, probe_dir: Path, timeout: float = 10.0) -> tuple[int, int]:
    """(live greenlets, those running the plugin's code) in the plugin process (asked of
    the probe, see probe/sitecustomize.py)."""
    tag = f"{pid}-{uuid.uuid4().hex}"
    answer = probe_dir / f"greenlets-{tag}"
    (probe_dir / f"ask-{tag}").write_text("")
    deadline = time.monotonic() + timeout
    while not answer.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the greenlet probe of plugin {pid} did not answer")
        time.sleep(0.02)
    live, busy = (int(n) for n in answer.read_text().split())
    answer.unlink()
    return live, busy


def vitals(devkit: RunningDevkit, probe_dir: Path) -> Vitals:
    pid = int(devkit.stats()["plugin_pid"])
    status = _status(pid)
    live, busy = greenlets(pid, probe_dir)
    return Vitals(
        pid=pid,
        rss_kib=int(status["VmRSS"].split()[0]),
        threads=int(status["Threads"]),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        greenlets=live,
        busy_greenlets=busy,
    )


def wait_until[T](probe: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str) -> tuple[T, float]:
    """Poll `probe` until `done(value)`; the value and how long it took. AssertionError
    with the last value after `timeout` seconds."""
    start = time.monotonic()
    while True:
        value = probe()
        if done(value):
            return value, time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: still {value!r} after {timeout:g} s")
        time.sleep(0.1)


def leaks_in(text: str) -> list[str]:
    """The PYTHON_LEAKS and DAEMON_LEAKS found in `text`, and the secret if it is there."""
    lowered = text.lower()
    found = [leak for leak in PYTHON_LEAKS if leak in text]
    found += [leak for leak in DAEMON_LEAKS if leak in lowered]
    if SECRET in text:
        found.append("the api_key")
    return found


def secret_in_response(response: httpx.Response, body: bytes | None = None) -> bool:
    """Whether the api_key shows anywhere in the answer: status line, headers or body."""
    raw = body if body is not None else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    return SECRET in headers or SECRET.encode() in raw or SECRET in (response.reason_phrase or "")


def plugin_log_lines(log: str) -> list[str]:
    """The plugin's own lines of the devkit log (its log events, stdout and stderr)."""
    return [line for line in log.splitlines() if line.startswith("[plugin")]


def stats_of(devkit: RunningDevkit) -> Mapping[str, Any]:
    return devkit.stats()
