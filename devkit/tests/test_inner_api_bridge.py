"""Real apps through a self-hosted Dify's inner API: what the plugin receives is what the
recorded Dify 1.13.2 answered, byte for byte.

The probe plugin runs on the real `dify_plugin` runtime behind the devkit (stdio and
serverless); its `session.app.*`, `fetch_app` and `session.file.upload` calls go to a
local server that answers with the recorded inner-API bytes (`recorded_dify.py`:
length-prefixed frames, plain HTTP errors). The probe's `POST /app` streams each event
the SDK handed it, or the text of the exception it raised, one JSON line each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from recorded_dify import (
    APP_IDS,
    INNER_KEY,
    TENANT_ID,
    UNKNOWN_CONVERSATION,
    RecordedDify,
    inner_case,
    inner_frames,
)
from support import PROBE_PLUGIN, call, events

from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

REJECTED = "invoke app failed: request failed with status code: {status} and respond with: {body}"
UNKNOWN_APP_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def dify() -> Iterator[RecordedDify]:
    server = RecordedDify().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=MODES)
def probe(
    request: pytest.FixtureRequest, dify: RecordedDify, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningDevkit]:
    def inner(app_id: str, dify_app_id: str, key: str = "INNER_KEY") -> dict[str, Any]:
        source = {"base_url": dify.url, "api_key": f"${{{key}}}", "tenant_id": "${TENANT}", "app_id": dify_app_id}
        return {"id": app_id, "inner_api": source}

    config = {
        "endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}],
        "apps": [
            inner("flow", APP_IDS["chatflow"]),
            inner("wf", APP_IDS["workflow"]),
            inner("flow-fails", APP_IDS["chatflow_fails"]),
            inner("wf-fails", APP_IDS["workflow_fails"]),
            inner("wf-file", APP_IDS["workflow_file"]),
            inner("ghost", UNKNOWN_APP_ID),
            inner("wrong-key", APP_IDS["chatflow"], key="OLD_INNER_KEY"),
        ],
        "daemon": {"app_stream_timeout": 60},
    }
    work = tmp_path_factory.mktemp(f"inner-api-{request.param}")
    env = {"INNER_KEY": INNER_KEY, "TENANT": TENANT_ID, "OLD_INNER_KEY": "a-key-this-dify-does-not-have"}
    devkit = start_devkit(PROBE_PLUGIN, config, mode=request.param, workdir=work, env=env)
    yield devkit
    devkit.stop()


def recorded(name: str) -> list[dict[str, Any]]:
    """The events of a recorded answer: each frame's `data`."""
    frames = inner_frames(name)
    assert all(frame["error"] == "" for frame in frames)
    return [frame["data"] for frame in frames]


def refused(name: str) -> list[dict[str, Any]]:
    """What the plugin sees for a recorded refusal: the daemon's text around Dify's exact body."""
    case = inner_case(name)
    return [{"error": REJECTED.format(status=case.status, body=case.body.decode())}]


# --- runs ----------------------------------------------------------------------------------


def test_a_streamed_chatflow_hands_the_plugin_the_recorded_frames(probe: RunningDevkit, dify: RecordedDify) -> None:
    got = events(call(probe, "chat", app_id="flow", query="hello duck", inputs={}, response_mode="streaming"))
    assert got == recorded("inner_chat_stream_new")
    sent = dify.seen("/inner/api/invoke/app")[-1]
    assert sent.headers["X-Inner-Api-Key"] == INNER_KEY
    # the daemon's body, key order included (requests.tsv: inner_chat_stream_new)
    assert list(sent.json) == [
        "tenant_id",
        "user_id",
        "type",
        "user",
        "app_id",
        "inputs",
        "query",
        "response_mode",
        "conversation_id",
    ]
    assert sent.json["tenant_id"] == TENANT_ID
    assert sent.json["app_id"] == APP_IDS["chatflow"]
    assert (sent.json["type"], sent.json["query"], sent.json["conversation_id"]) == ("app", "hello duck", "")


def test_a_conversation_continues_through_the_inner_api(probe: RunningDevkit, dify: RecordedDify) -> None:
    first = recorded("inner_chat_stream_new")[0]["conversation_id"]
    got = events(
        call(
            probe,
            "chat",
            app_id="flow",
            query="second turn",
            inputs={},
            response_mode="streaming",
            conversation_id=first,
        )
    )
    assert got == recorded("inner_chat_stream_followup")
    assert dify.seen("/inner/api/invoke/app")[-1].json["conversation_id"] == first


def test_blocking_calls_hand_the_plugin_the_one_recorded_answer(probe: RunningDevkit) -> None:
    [chat] = events(call(probe, "chat", app_id="flow", query="hello blocking", inputs={}, response_mode="blocking"))
    assert [chat] == recorded("inner_chat_blocking")
    [workflow] = events(call(probe, "workflow", app_id="wf", inputs={"topic": "ducks"}, response_mode="blocking"))
    assert [workflow] == recorded("inner_wf_blocking_good")


def test_a_streamed_workflow_hands_the_plugin_the_recorded_frames(probe: RunningDevkit) -> None:
    inputs = {"topic": "ducks", "notes": "n", "style": "long"}
    got = events(call(probe, "workflow", app_id="wf", inputs=inputs, response_mode="streaming"))
    assert got == recorded("inner_wf_stream_good")


def test_a_failing_chatflow_ends_with_difys_error_event(probe: RunningDevkit) -> None:
    got = events(call(probe, "chat", app_id="flow-fails", query="hello", inputs={}, response_mode="streaming"))
    assert got == recorded("inner_chat_fail_stream")
    assert got[-1]["event"] == "error"
    assert (got[-1]["code"], got[-1]["status"]) == ("invalid_param", 400)
    assert got[-1]["message"].startswith("Run failed: ")


def test_a_failing_workflow_sends_no_error_event_and_blocking_says_failed(probe: RunningDevkit) -> None:
    streamed = events(call(probe, "workflow", app_id="wf-fails", inputs={"topic": "ducks"}, response_mode="streaming"))
    assert streamed == recorded("inner_wf_fail_stream")
    assert "error" not in [event["event"] for event in streamed]
    [blocking] = events(call(probe, "workflow", app_id="wf-fails", inputs={"topic": "ducks"}, response_mode="blocking"))
    assert blocking["data"]["status"] == "failed"


# --- refusals: plain HTTP errors, at once ------------------------------------------------------


def test_request_errors_are_the_recorded_status_and_body(probe: RunningDevkit) -> None:
    unknown = call(
        probe,
        "chat",
        app_id="flow",
        query="hello",
        inputs={},
        response_mode="streaming",
        conversation_id=UNKNOWN_CONVERSATION,
    )
    assert unknown == refused("inner_chat_unknown_conv_stream")
    missing = call(probe, "workflow", app_id="wf", inputs={}, response_mode="streaming")
    assert missing == refused("inner_wf_missing_required_stream")
    select = call(probe, "workflow", app_id="wf", inputs={"topic": "x", "style": "medium"}, response_mode="streaming")
    assert select == refused("inner_wf_bad_select")
    malformed = call(
        probe, "chat", app_id="flow", query="hello", inputs={}, response_mode="blocking", conversation_id="not-a-uuid"
    )
    assert malformed == refused("inner_chat_bad_conv_format")
    assert call(probe, "chat", app_id="ghost", query="hello", inputs={}, response_mode="blocking") == refused(
        "inner_unknown_app"
    )


def test_a_chat_without_a_query_is_refused_by_dify_itself(probe: RunningDevkit, dify: RecordedDify) -> None:
    before = len(dify.seen("/inner/api/invoke/app"))
    assert call(probe, "chat", app_id="flow", query="", inputs={}, response_mode="streaming") == refused(
        "inner_chat_missing_query"
    )
    assert len(dify.seen("/inner/api/invoke/app")) == before + 1  # Dify answered it, not the devkit


# --- fetch_app and files ----------------------------------------------------------------------


def test_fetch_app_hands_the_plugin_the_parameters_inside_difys_envelope(
    probe: RunningDevkit, dify: RecordedDify
) -> None:
    [line] = call(probe, "fetch_app", app_id="wf")
    assert line["event"] == json.loads(inner_case("inner_fetch_app_workflow").body)["data"]["data"]
    sent = dify.seen("/inner/api/fetch/app/info")[-1]
    assert sent.json == {
        "tenant_id": TENANT_ID,
        "user_id": "",
        "type": "app",
        "user": "",
        "app_id": APP_IDS["workflow"],
    }
    assert call(probe, "fetch_app", app_id="ghost") == [{"error": "fetch app failed: data is nil"}]


def test_a_file_the_plugin_uploads_goes_to_dify_and_reaches_the_app_as_a_tool_file(
    probe: RunningDevkit, dify: RecordedDify
) -> None:
    content = b"hello from a plugin file\n"
    response = probe.client("probe").post(
        "/upload", params={"filename": "hello.txt", "mimetype": "text/plain"}, content=content
    )
    answer = response.json()
    assert "error" not in answer, answer
    recorded_file = json.loads(inner_case("plugin_file_upload").body)
    assert answer["file"]["id"] == recorded_file["id"]
    asked = dify.seen("/inner/api/upload/file/request")[-1]
    assert asked.headers["X-Inner-Api-Key"] == INNER_KEY
    assert asked.json == {"tenant_id": TENANT_ID, "user_id": "", "filename": "hello.txt", "mimetype": "text/plain"}
    posted = dify.seen("/files/upload/for-plugin")[-1]
    assert posted.form is not None
    assert posted.form["file"] == ("hello.txt", "text/plain", content)

    parameter = answer["app_parameter"]
    assert parameter["transfer_method"] == "tool_file"
    [result] = events(
        call(probe, "workflow", app_id="wf-file", inputs={"document": parameter}, response_mode="blocking")
    )
    assert [result] == recorded("inner_wf_file_tool_file")
    sent = dify.seen("/inner/api/invoke/app")[-1].json["inputs"]["document"]
    assert sent == parameter  # as the plugin passed it: the inner API takes tool files


def test_a_wrong_inner_key_is_what_dify_answers_it(probe: RunningDevkit) -> None:
    lines = call(probe, "chat", app_id="wrong-key", query="hello", inputs={}, response_mode="streaming")
    assert lines == refused("inner_bad_key")
    assert "a-key-this-dify-does-not-have" not in probe.log()
