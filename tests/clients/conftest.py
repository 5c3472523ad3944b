"""The gallery's /v1 routes behind the devkit, in both install methods, for the real
OpenAI clients (the `openai` Python SDK here, the `openai` npm package in node/)."""

from __future__ import annotations

from typing import Any

import pytest

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit

#: The key of the `locked` instance.
KEY = "s3cret-key"
#: Deltas of the `many` app's answer: w0 w1 ... w9999, one word each.
MANY = 10_000
MANY_ANSWER = " ".join(f"w{i}" for i in range(MANY))

APPS: list[dict[str, Any]] = [
    {"id": "openai-many", "name": "Ten thousand deltas", "mode": "chat", "script": "answer", "answer": MANY_ANSWER},
    {
        "id": "openai-silent",
        "name": "One word, then silence",
        "mode": "chat",
        "script": "answer",
        "answer": "hello there friend",
        "silent_after": 1,
    },
    {
        "id": "openai-chat-breaks",
        "name": "The call breaks after two deltas",
        "mode": "chat",
        "script": "answer",
        "answer": "one two three four five",
        "fail_after": 2,
        "fail_as": "invocation",
    },
    {
        "id": "openai-chat-fails-early",
        "name": "Fails before its first event",
        "mode": "chat",
        "script": "answer",
        "answer": "never",
        "fail_after": 0,
        "fail_as": "invocation",
    },
    {
        "id": "openai-vision",
        "name": "Says which image it got",
        "mode": "chat",
        "script": "answer",
        "answer": "I see {{photo}}",
        "variables": [{"name": "photo", "type": "file", "required": False, "allowed_file_types": ["image"]}],
    },
    {
        "id": "openai-form",
        "name": "A workflow whose text input is not the first",
        "mode": "workflow",
        "script": "workflow",
        "answer": "{{style}} take on {{subject}}",
        "variables": [{"name": "style", "required": False, "default": "plain"}, {"name": "subject"}],
    },
]

ENDPOINTS: dict[str, dict[str, Any]] = {
    "open": {
        "chat_app": "demo-chat-echo",
        "workflow_app": "demo-workflow",
        "completion_app": "demo-completion",
        "keepalive_seconds": "1",
    },
    "named": {
        "chat_app": "demo-chat-echo",
        "workflow_app": "demo-workflow",
        "openai_model_names": "chat=duck-bot, workflow=team/summariser",
    },
    "locked": {"chat_app": "demo-chat-echo", "api_key": KEY},
    "agent": {"chat_app": "demo-agent"},
    "chatflow": {"chat_app": "demo-chatflow"},
    "many": {"chat_app": "openai-many"},
    "silent": {"chat_app": "openai-silent", "keepalive_seconds": "1"},
    "failing": {
        "chat_app": "openai-chat-breaks",
        "workflow_app": "demo-workflow-fails",
        "completion_app": "demo-chat-fails",
        "openai_text_input": "topic",
    },
    "failing-early": {"chat_app": "openai-chat-fails-early", "workflow_app": "demo-workflow-breaks"},
    "form": {"workflow_app": "openai-form"},
    "form-named": {"workflow_app": "openai-form", "openai_text_input": "style"},
    "vision": {"chat_app": "openai-vision"},
    "empty": {},
    "bad-names": {"chat_app": "demo-chat-echo", "openai_model_names": "chat=a b"},
    "cors": {"chat_app": "demo-chat-echo", "allowed_origins": "https://app.example"},
}


@pytest.fixture(scope="session", params=MODES)
def v1(request: pytest.FixtureRequest, dify_devkit: DevkitFactory) -> RunningDevkit:
    return dify_devkit(endpoints=ENDPOINTS, apps=APPS, mode=request.param)


def base_url(devkit: RunningDevkit, hook: str) -> str:
    """What a client puts in its "base URL" field."""
    return devkit.url(hook, "/v1")
