"""A conversation outlives its plugin process: the history -> conversation index lives in
the daemon's storage, so the next turn continues even on a new process (what a
serverless plugin gets on every request, and a local one after a restart)."""

from __future__ import annotations

import os
import signal
import time

import openai

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from tests.clients.conftest import base_url


def test_the_next_turn_on_a_new_plugin_process_continues_the_conversation(dify_devkit: DevkitFactory) -> None:
    devkit = dify_devkit(endpoints={"restart": {"chat_app": "demo-chat-echo"}}, mode="local")
    sdk = openai.OpenAI(base_url=base_url(devkit, "restart"), api_key="x", max_retries=0, timeout=60)
    first = sdk.chat.completions.create(model="chat", messages=[{"role": "user", "content": "before"}])
    answer = first.choices[0].message.content
    assert answer == "Turn 1: before"
    before = devkit.stats()
    os.kill(before["plugin_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while not (
        devkit.stats()["plugin_restarts"] == 1 and devkit.stats()["plugin_pid"] not in (None, before["plugin_pid"])
    ):
        assert time.monotonic() < deadline, "the devkit did not start a new plugin process"
        time.sleep(0.2)
    history = [{"role": "user", "content": "before"}, {"role": "assistant", "content": answer}]
    second = sdk.chat.completions.create(model="chat", messages=[*history, {"role": "user", "content": "after"}])
    assert second.choices[0].message.content == "Turn 2: after"
