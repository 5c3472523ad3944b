"""What a plugin sees of Dify's app errors, events and file inputs, in both install methods.

The probe's `POST /app` calls `session.app.<kind>.invoke(...)` (or `fetch_app`) and
streams each event, or the text of the exception the SDK raised, as one JSON line; its
`POST /upload` uploads a file with `session.file.upload`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import PROBE_APPS, PROBE_PLUGIN, call

from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

RECORDED = Path(__file__).parent / "fixtures" / "real-dify-1.13.2" / "apps"
CONFIG = {
    "endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}],
    "apps": [
        str(PROBE_APPS),
        # recorded real-Dify apps from their DSL files (`dsl:`, relative paths: from the config file)
        {"id": "real-chatflow", "dsl": str(RECORDED / "chatflow.yml")},
        {
            "id": "real-chatflow-fails",
            "dsl": str(RECORDED / "chatflow_fails.yml"),
            "nodes": {"code": {"fail": "no sandbox"}},
        },
    ],
    # the completion apps' file inputs are tested as a later Dify runs them (1.13.2: 500, test_fidelity.py)
    "dify": {"quirks": {"completion_from_plugin_fails": False}},
}
REJECTED = "invoke app failed: request failed with status code: {status} and respond with: {body}\n"


@pytest.fixture(scope="module", params=MODES)
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    work = tmp_path_factory.mktemp(f"apps-{request.param}")
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, workdir=work, mode=request.param, state_dir=work / "state")
    yield devkit
    devkit.stop()


def chat(probe: RunningDevkit, app_id: str, query: str, mode: str = "streaming", **ask: Any) -> list[dict[str, Any]]:
    return call(probe, "chat", app_id=app_id, query=query, inputs={}, response_mode=mode, **ask)


def flow(probe: RunningDevkit, kind: str, app_id: str, inputs: Any, mode: str = "streaming") -> list[dict[str, Any]]:
    return call(probe, kind, app_id=app_id, inputs=inputs, response_mode=mode)


def names(lines: list[dict[str, Any]]) -> list[str]:
    return [line["event"]["event"] for line in lines if "event" in line]


def rejected(status: int, body: str) -> str:
    return REJECTED.format(status=status, body=body)


def test_request_errors_reach_the_plugin_in_the_daemons_exact_words(probe: RunningDevkit) -> None:
    assert chat(probe, "demo-chat-echo", "") == [
        {"error": rejected(400, '{"code":"invalid_param","message":"missing query","status":400}')}
    ]
    assert chat(probe, "demo-agent", "hi", mode="blocking") == [
        {
            "error": rejected(
                400,
                '{"code":"invalid_param","message":"Agent Chat App does not support blocking mode","status":400}',
            )
        }
    ]
    assert chat(probe, "demo-chat-echo", "hi", conversation_id="0b0e1c57-0000-4000-8000-000000000000") == [
        {"error": rejected(400, '{"code":"invalid_param","message":"","status":400}')}
    ]


def test_a_failing_run_called_blocking_is_invoke_app_failed(probe: RunningDevkit) -> None:
    assert chat(probe, "demo-chat-fails", "hi", mode="blocking") == [
        {"error": rejected(500, '{"message":"Internal Server Error","code":"unknown","status":500}')}
    ]


def test_a_chat_error_event_arrives_as_an_event_in_difys_shape(probe: RunningDevkit) -> None:
    lines = chat(probe, "demo-chat-fails", "hi")
    assert names(lines) == ["message", "message", "message", "error"]
    error = lines[-1]["event"]
    assert set(error) == {"event", "conversation_id", "message_id", "created_at", "code", "status", "message"}
    assert (error["status"], error["code"]) == (400, "completion_request_error")
    assert error["message"] == "The model provider returned an error (simulated)."


def test_a_failed_workflow_run_streams_failed_events_and_no_error(probe: RunningDevkit) -> None:
    lines = flow(probe, "workflow", "demo-workflow-fails", {})
    assert names(lines) == [
        "workflow_started", "node_started", "node_finished", "node_started", "node_finished", "workflow_finished",
    ]  # fmt: skip
    assert all("error" not in line for line in lines)
    assert [lines[-2]["event"]["data"]["status"], lines[-1]["event"]["data"]["status"]] == ["failed", "failed"]
    [blocking] = flow(probe, "workflow", "demo-workflow-fails", {}, mode="blocking")
    assert blocking["event"]["data"]["status"] == "failed"
    assert blocking["event"]["data"]["error"] == "The model provider returned an error (simulated)."


def test_every_event_kind_reaches_the_plugin(probe: RunningDevkit) -> None:
    workflow = set(names(flow(probe, "workflow", "demo-workflow-every-event", {})))
    assert workflow >= {"node_retry", "iteration_next", "loop_completed", "agent_log", "tts_message_end"}
    messages = set(names(chat(probe, "demo-chat-every-event", "hi")))
    assert messages >= {"message_file", "message_replace", "tts_message", "tts_message_end"}


def test_fetch_app_gives_the_parameters_or_the_daemons_error(probe: RunningDevkit) -> None:
    [parameters] = call(probe, "fetch_app", app_id="demo-file-echo")
    form = parameters["event"]["user_input_form"]
    assert [next(iter(item)) for item in form] == ["file", "file-list"]
    assert "data" not in parameters["event"]
    assert call(probe, "fetch_app", app_id="no-such-app") == [{"error": "fetch app failed: data is nil"}]


def upload(probe: RunningDevkit, filename: str, mimetype: str, content: bytes) -> dict[str, Any]:
    """`session.file.upload(...).to_app_parameter()` inside the plugin."""
    response = probe.client("probe").post(
        "/upload", params={"filename": filename, "mimetype": mimetype}, content=content
    )
    assert response.status_code == 200, response.text
    uploaded = response.json()
    assert "error" not in uploaded, uploaded
    return dict(uploaded["app_parameter"])


@pytest.mark.parametrize(
    ("kind", "app_id"), [("workflow", "demo-file-echo"), ("completion", "demo-completion-file-echo")]
)
def test_uploaded_files_are_app_inputs(probe: RunningDevkit, kind: str, app_id: str) -> None:
    document = upload(probe, "notes.txt", "text/plain", b"hello")
    picture = upload(probe, "duck.png", "image/png", b"\x89PNG....")
    [result] = flow(probe, kind, app_id, {"document": document, "attachments": [picture]}, mode="blocking")
    answer = result["event"]["data"]["outputs"]["text"] if kind == "workflow" else result["event"]["answer"]
    assert answer == "Received document: notes.txt (document, 5 bytes); attachments: duck.png (image, 8 bytes)."
    missing = {**document, "tool_file_id": "0b0e1c57-0000-4000-8000-000000000000"}
    assert flow(probe, kind, app_id, {"document": missing}) == [
        {
            "error": rejected(
                400,
                '{"code":"invalid_param","message":"ToolFile 0b0e1c57-0000-4000-8000-000000000000 not found",'
                '"status":400}',
            )
        }
    ]


def test_a_dsl_app_reaches_the_plugin_as_the_recorded_chatflow_does(probe: RunningDevkit) -> None:
    """The recorded chatflow's DSL, run by the devkit: the events of inner_chat_stream_new."""
    lines = chat(probe, "real-chatflow", "hello duck")
    assert names(lines) == [
        "workflow_started", "node_started", "node_finished", "node_started", "message", "message", "message",
        "node_finished", "node_started", "node_finished", "message_end", "workflow_finished",
    ]  # fmt: skip
    answer = "".join(line["event"]["answer"] for line in lines if line["event"]["event"] == "message")
    assert answer == "**Hello!** You said: hello duck\n\n- a *fixed* list item\n- `code` and <b>html</b>\n"
    failing = chat(probe, "real-chatflow-fails", "hello")
    assert names(failing)[-3:] == ["node_finished", "workflow_finished", "error"]
    assert failing[-1]["event"]["message"] == "Run failed: no sandbox"
    assert chat(probe, "real-chatflow-fails", "hello", mode="blocking") == [
        {"error": rejected(400, '{"code":"invalid_param","message":"Run failed: no sandbox","status":400}')}
    ]
    [parameters] = call(probe, "fetch_app", app_id="real-chatflow")
    assert parameters["event"]["opening_statement"] == "Hello from a real Dify chatflow."
