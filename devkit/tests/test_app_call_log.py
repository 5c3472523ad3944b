"""The app-call log (`GET /devkit/app-calls`) and `stamp_answers`: what a test or a
benchmark can see of each app call."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from app_support import app

from dify_plugin_devkit._apps import AppBackend
from dify_plugin_devkit._backwards import APP_CALL_LOG, BackwardsInvoker


def run(invoker: BackwardsInvoker, request: dict[str, Any]) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [event async for event in invoker.answer("app", "b1", request)]

    return [event["data"] for event in asyncio.run(collect()) if event["event"] == "response"]


def test_each_call_logs_the_conversation_it_asked_for_and_the_one_it_used() -> None:
    invoker = BackwardsInvoker(AppBackend([app(id="c", mode="chat", script="echo")]), app_permission=True)
    first = run(invoker, {"app_id": "c", "query": "one", "inputs": {}, "response_mode": "streaming"})
    conversation = first[0]["conversation_id"]
    run(
        invoker,
        {"app_id": "c", "query": "two", "inputs": {}, "response_mode": "blocking", "conversation_id": conversation},
    )
    assert list(invoker.app_call_log) == [
        {
            "app_id": "c",
            "response_mode": "streaming",
            "query": "one",
            "conversation_id": None,
            "used_conversation_id": conversation,
        },
        {
            "app_id": "c",
            "response_mode": "blocking",
            "query": "two",
            "conversation_id": conversation,
            "used_conversation_id": conversation,
        },
    ]


def test_the_log_is_bounded() -> None:
    invoker = BackwardsInvoker(AppBackend([app(id="c", mode="chat", script="echo")]), app_permission=True)
    assert invoker.app_call_log.maxlen == APP_CALL_LOG


def test_stamp_answers_puts_the_send_time_in_each_delta() -> None:
    spec = app(id="c", mode="chat", script="answer", answer="a b c", stamp_answers=True)
    invoker = BackwardsInvoker(AppBackend([spec]), app_permission=True)
    events = run(invoker, {"app_id": "c", "query": "q", "inputs": {}, "response_mode": "streaming"})
    answers = [e["answer"] for e in events if e["event"] == "message"]
    assert len(answers) == 3
    assert all(re.fullmatch(r" devkit_sent_ns=\d+", a) for a in answers)
    assert not any("devkit_sent_ns" in e for e in events)  # stamp_events stays off
