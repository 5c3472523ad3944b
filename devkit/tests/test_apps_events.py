"""Demo apps can send every event a real Dify app sends, with the fields Dify sends.

Field names are those of the `*StreamResponse` models in
api/core/app/entities/task_entities.py, wrapped by each mode's response converter.
"""

from __future__ import annotations

from typing import Any

import pytest
from app_support import Event, app, backend, chat_request, collect, flow_request, kinds, of_kind

from dify_plugin_devkit._apps import DEFAULT_APPS_FILE, AppBackend, parse_apps
from dify_plugin_devkit._errors import ConfigError

CHAT_HEAD = {"event", "conversation_id", "message_id", "created_at", "task_id"}
WORKFLOW_HEAD = {"event", "task_id", "workflow_run_id"}
NODE_END_DATA = {
    "id", "node_id", "node_type", "title", "index", "predecessor_node_id", "inputs", "process_data", "outputs",
    "status", "error", "elapsed_time", "execution_metadata", "created_at", "finished_at", "files",
    "iteration_id", "loop_id", "inputs_truncated", "process_data_truncated", "outputs_truncated",
}  # fmt: skip
ROUND_START_DATA = {"id", "node_id", "node_type", "title", "created_at", "extras", "metadata", "inputs"}
ROUND_COMPLETED_DATA = {
    "id", "node_id", "node_type", "title", "outputs", "created_at", "extras", "inputs", "status", "error",
    "elapsed_time", "total_tokens", "execution_metadata", "finished_at", "steps",
}  # fmt: skip
AGENT_LOG_DATA = {"node_execution_id", "id", "label", "parent_id", "error", "status", "data", "metadata", "node_id"}


def nodes(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": "start", "type": "start", "title": "Start"},
        *extra,
        {"id": "llm", "type": "llm", "title": "LLM"},
        {"id": "end", "type": "end", "title": "End"},
    ]


def run_workflow(*extra: dict[str, Any], **knobs: Any) -> list[Event]:
    spec = app(id="wf", mode="workflow", script="workflow", answer="Done here.", nodes=nodes(*extra), **knobs)
    return collect(backend(spec), flow_request("wf"))


# --- message events -----------------------------------------------------------------------


CHAT_EXTRAS: dict[str, Any] = {
    "message_files": [{"type": "image", "url": "https://example.com/a.png"}, {"type": "document", "url": "u2"}],
    "replace_with": "Moderated.",
    "tts": True,
}


@pytest.mark.parametrize("mode", ["chat", "agent-chat", "advanced-chat", "completion"])
def test_message_file_replace_and_tts_come_in_difys_order(mode: str) -> None:
    script = "completion" if mode == "completion" else "answer"
    spec = app(id="x", mode=mode, script=script, answer="Raw answer.", **CHAT_EXTRAS)
    request = flow_request("x") if mode == "completion" else chat_request("x", "q")
    events = collect(backend(spec), request)
    tail = [kind for kind in kinds(events) if kind != "workflow_finished"][-5:]
    assert tail == ["message_file", "message_file", "message_replace", "message_end", "tts_message_end"]
    assert kinds(events).count("tts_message") == 1
    head = CHAT_HEAD - {"conversation_id"} if mode == "completion" else CHAT_HEAD
    first, second = of_kind(events, "message_file")
    assert set(first) == head | {"id", "type", "belongs_to", "url"}
    assert (first["type"], first["belongs_to"], first["url"]) == ("image", "assistant", "https://example.com/a.png")
    assert (second["type"], second["url"]) == ("document", "u2")
    assert first["id"] != second["id"]
    [replace] = of_kind(events, "message_replace")
    assert set(replace) == head | {"answer", "reason"}
    assert (replace["answer"], replace["reason"]) == ("Moderated.", "output_moderation")
    [tts] = of_kind(events, "tts_message")
    assert set(tts) == head | {"audio"}
    assert tts["audio"]
    assert events[-1]["audio"] == ""
    assert {e["message_id"] for e in events} == {events[0]["message_id"]}


def test_blocking_answer_is_the_replaced_one() -> None:
    spec = app(id="x", mode="chat", script="answer", answer="Raw answer.", replace_with="Moderated.")
    [result] = collect(backend(spec), chat_request("x", "q", mode="blocking"))
    assert result["answer"] == "Moderated."


def test_messages_carry_their_variable_selector_in_a_chatflow_only() -> None:
    chat = collect(backend(app(id="c", mode="chat", script="echo")), chat_request("c", "hi"))
    flow = collect(backend(app(id="f", mode="advanced-chat", script="echo")), chat_request("f", "hi"))
    assert {e["from_variable_selector"] for e in of_kind(chat, "message")} == {None}
    assert {tuple(e["from_variable_selector"]) for e in of_kind(flow, "message")} == {("llm", "text")}


def test_workflow_tts_speaks_after_the_text_and_ends_last() -> None:
    events = run_workflow(tts=True)
    assert kinds(events)[-1] == "tts_message_end"
    speech = kinds(events).index("tts_message")
    assert kinds(events)[speech - 1] == "text_chunk"
    assert set(events[speech]) == WORKFLOW_HEAD | {"audio"}


# --- workflow node events -----------------------------------------------------------------


def test_node_retry_events_come_before_the_node_finishes() -> None:
    events = run_workflow({"id": "http", "type": "http-request", "title": "Fetch", "retries": 2, "error": "reset"})
    started = next(e for e in events if e["event"] == "node_started" and e["data"]["node_id"] == "http")
    at = events.index(started)
    assert kinds(events)[at : at + 4] == ["node_started", "node_retry", "node_retry", "node_finished"]
    retries = [e["data"] for e in of_kind(events, "node_retry")]
    assert [r["retry_index"] for r in retries] == [1, 2]
    assert {(r["status"], r["error"], r["id"]) for r in retries} == {("retry", "reset", started["data"]["id"])}
    assert set(retries[0]) == NODE_END_DATA | {"retry_index"}
    assert events[at + 3]["data"]["status"] == "succeeded"


@pytest.mark.parametrize("kind", ["iteration", "loop"])
def test_iteration_and_loop_nodes_send_their_rounds(kind: str) -> None:
    events = run_workflow({"id": "each", "type": kind, "title": "Each", "rounds": 3})
    at = kinds(events).index(f"{kind}_started")
    assert kinds(events)[at - 1 : at + 6] == [
        "node_started", f"{kind}_started", f"{kind}_next", f"{kind}_next", f"{kind}_next",
        f"{kind}_completed", "node_finished",
    ]  # fmt: skip
    started, completed = events[at]["data"], events[at + 4]["data"]
    assert set(started) == ROUND_START_DATA
    assert set(completed) == ROUND_COMPLETED_DATA
    assert set(events[at]) == WORKFLOW_HEAD | {"data"}
    nexts = [e["data"] for e in of_kind(events, f"{kind}_next")]
    assert [n["index"] for n in nexts] == [0, 1, 2]
    assert [n[f"pre_{kind}_output"] for n in nexts] == [None, "Each round 1", "Each round 2"]
    assert (completed["steps"], completed["status"], completed["outputs"]["output"][-1]) == (
        3,
        "succeeded",
        "Each round 3",
    )
    assert events[at + 5]["data"]["outputs"] == completed["outputs"]


def test_agent_node_sends_agent_logs_of_its_execution() -> None:
    events = run_workflow({"id": "agent", "type": "agent", "title": "Agent"})
    logs = of_kind(events, "agent_log")
    assert [(log["data"]["label"], log["data"]["status"]) for log in logs] == [
        ("ROUND 1", "start"),
        ("ROUND 1", "success"),
    ]
    started = next(e for e in events if e["event"] == "node_started" and e["data"]["node_id"] == "agent")
    assert {log["data"]["node_execution_id"] for log in logs} == {started["data"]["id"]}
    assert set(logs[0]["data"]) == AGENT_LOG_DATA
    assert set(logs[0]) == {"event", "workflow_run_id", "task_id", "data"}


def test_node_ending_in_exception_makes_the_run_partial_succeeded() -> None:
    events = run_workflow({"id": "tool", "type": "tool", "title": "Tool", "status": "exception", "error": "timeout"})
    tool = next(e["data"] for e in of_kind(events, "node_finished") if e["data"]["node_id"] == "tool")
    assert (tool["status"], tool["error"]) == ("exception", "timeout")
    assert tool["outputs"]["error_message"] == "timeout"
    finished = events[-1]["data"]
    assert (finished["status"], finished["exceptions_count"], finished["error"]) == ("partial-succeeded", 1, None)
    assert finished["outputs"] == {"text": "Done here."}  # the run went on
    spec = app(
        id="wf",
        mode="workflow",
        script="workflow",
        answer="x",
        nodes=nodes({"id": "t", "type": "tool", "title": "T", "status": "exception"}),
    )
    [result] = collect(backend(spec), flow_request("wf", mode="blocking"))
    assert result["data"]["status"] == "partial-succeeded"


def test_node_and_run_events_have_the_fields_of_difys_models() -> None:
    events = run_workflow()
    assert set(events[0]["data"]) == {"id", "workflow_id", "inputs", "created_at", "reason"}
    assert set(of_kind(events, "node_finished")[0]["data"]) == NODE_END_DATA
    assert set(events[-1]["data"]) == {
        "id", "workflow_id", "status", "outputs", "error", "elapsed_time", "total_tokens", "total_steps",
        "created_by", "created_at", "finished_at", "exceptions_count", "files",
    }  # fmt: skip
    assert all(set(e) == WORKFLOW_HEAD | {"data"} for e in events if e["event"] != "text_chunk")


def test_the_every_event_demo_apps_send_every_event() -> None:
    b = AppBackend.from_files(DEFAULT_APPS_FILE)
    workflow = set(kinds(collect(b, flow_request("demo-workflow-every-event"))))
    assert workflow >= {
        "node_retry", "iteration_started", "iteration_next", "iteration_completed", "loop_started", "loop_next",
        "loop_completed", "agent_log", "text_chunk", "tts_message", "tts_message_end",
    }  # fmt: skip
    chat = set(kinds(collect(b, chat_request("demo-chat-every-event", "hi"))))
    assert chat >= {"message_file", "message_replace", "tts_message", "tts_message_end"}


@pytest.mark.parametrize(
    ("knobs", "expected"),
    [
        ({"mode": "workflow", "message_files": [{"url": "u"}]}, "message_files: a workflow app sends no messages"),
        ({"mode": "workflow", "replace_with": "x"}, "replace_with: a workflow app sends no messages"),
        ({"mode": "chat", "message_files": [{"type": "pdf", "url": "u"}]}, r"message_files\[0\]\.type"),
        ({"mode": "workflow", "nodes": nodes({"id": "x", "type": "code", "title": "X", "rounds": 2})}, "rounds: only"),
        ({"mode": "workflow", "nodes": nodes({"id": "x", "type": "code", "title": "X", "error": "e"})}, "error: only"),
        ({"mode": "workflow", "nodes": [{"id": "l", "type": "llm", "title": "L", "status": "exception"}]}, "succeeds"),
        ({"mode": "workflow", "nodes": nodes({"id": "x", "type": "code", "title": "X", "status": "failed"})}, "status"),
    ],
)
def test_inconsistent_event_knobs_are_rejected(knobs: dict[str, Any], expected: str) -> None:
    mode = knobs.pop("mode")
    script = "workflow" if mode == "workflow" else "answer"
    with pytest.raises(ConfigError, match=expected):
        parse_apps({"apps": [{"id": "a", "name": "A", "mode": mode, "script": script, "answer": "x", **knobs}]}, "t")
