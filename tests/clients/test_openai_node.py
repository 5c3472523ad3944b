"""The real `openai` npm package (Node 20) against the gallery's /v1 routes, in both
install methods. `make setup` installs it (`npm ci` in tests/clients/node); each test
runs one scenario of client.mjs and checks the JSON line it prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dify_plugin_devkit.testing import RunningDevkit
from tests.clients.conftest import KEY, MANY, MANY_ANSWER, base_url

NODE_CLIENT = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (NODE_CLIENT / "node_modules" / "openai").is_dir(),
    reason="needs Node 20 and `npm ci` in tests/clients/node (make setup does both when node is installed)",
)


def node(scenario: str, devkit: RunningDevkit, hook: str = "open", key: str = "any-key") -> dict[str, Any]:
    done = subprocess.run(
        [str(NODE), "client.mjs", scenario, base_url(devkit, hook), key],
        cwd=NODE_CLIENT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_lists_models(v1: RunningDevkit) -> None:
    assert node("models", v1)["ids"] == ["chat", "workflow", "completion"]
    assert node("models", v1, "named")["ids"] == ["duck-bot", "team/summariser"]


@pytest.mark.parametrize(("hook", "exact"), [("open", True), ("chatflow", False), ("agent", False)])
def test_chat_type_apps_streamed_and_not(v1: RunningDevkit, hook: str, exact: bool) -> None:
    seen = node("chat", v1, hook)
    for how in ("stream", "blocking"):
        assert seen[how]["finish"] == "stop"
        assert seen[how]["text"]
        if exact:
            assert seen[how]["text"].endswith(": Hello from Node")


def test_workflow_streamed_and_not(v1: RunningDevkit) -> None:
    seen = node("workflow", v1)
    answer = "Summary of ducks: ducks are waterfowl that stream answers one word at a time."
    assert seen["stream"]["text"] == seen["blocking"]["text"] == answer


def test_include_usage(v1: RunningDevkit) -> None:
    usage = node("usage", v1)["usage"]
    assert usage["prompt_tokens"] == 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_three_turns_are_one_dify_conversation(v1: RunningDevkit) -> None:
    assert node("conversation", v1)["answers"] == [
        "Turn 1: Node turn one",
        "Turn 2: Node turn two",
        "Turn 3: Node turn three",
    ]
    calls = [c for c in v1.app_call_log() if str(c["query"]).startswith("Node turn")][-3:]
    assert len({c["used_conversation_id"] for c in calls}) == 1


def test_wrong_key_is_an_authentication_error(v1: RunningDevkit) -> None:
    assert node("wrongKey", v1, "locked", key="wrong") == {
        "error": "AuthenticationError",
        "status": 401,
        "code": "invalid_api_key",
    }
    assert node("wrongKey", v1, "locked", key=KEY) == {"error": None}


def test_unknown_model_is_not_found(v1: RunningDevkit) -> None:
    assert node("unknownModel", v1) == {"error": "NotFoundError", "status": 404, "code": "model_not_found"}


def test_app_failing_mid_stream_is_an_api_error(v1: RunningDevkit) -> None:
    seen = node("midStream", v1, "failing")
    assert seen["error"] == "APIError"
    assert seen["code"] == "app_stream_failed"
    assert seen["text"] == "one two"


def test_ten_thousand_deltas_arrive_whole(v1: RunningDevkit) -> None:
    seen = node("many", v1, "many")
    assert seen["words"] == MANY
    assert seen["text"] == MANY_ANSWER
    assert seen["finish"] == "stop"
