"""`stamp_events`: a benchmark's apps tell when the devkit sent each event (and only they do)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app_support import app

from dify_plugin_devkit._apps import AppBackend
from dify_plugin_devkit._backwards import BackwardsInvoker


def streamed(stamp: bool, mode: str = "streaming") -> list[dict[str, Any]]:
    spec = app(id="wf", mode="workflow", script="workflow", answer="a b c", stamp_events=stamp)
    invoker = BackwardsInvoker(AppBackend([spec]), app_permission=True)
    request = {"app_id": "wf", "inputs": {}, "response_mode": mode}

    async def run() -> list[dict[str, Any]]:
        return [event async for event in invoker.answer("app", "b1", request)]

    return [event["data"] for event in asyncio.run(run()) if event["event"] == "response"]


def test_a_stamping_app_sends_each_event_with_the_devkits_send_time() -> None:
    before = time.time_ns()
    events = streamed(stamp=True)
    stamps = [event["devkit_sent_ns"] for event in events]
    assert len(stamps) == len(events) > 3
    assert stamps == sorted(stamps)
    assert before <= stamps[0] <= stamps[-1] <= time.time_ns()


def test_apps_send_no_stamp_unless_asked() -> None:
    assert not any("devkit_sent_ns" in event for event in streamed(stamp=False))


def test_a_blocking_result_carries_no_stamp() -> None:
    [result] = streamed(stamp=True, mode="blocking")
    assert "devkit_sent_ns" not in result
