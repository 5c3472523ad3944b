"""gallery.mcp.calls: app events to progress messages and one tool result."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from gallery.mcp import calls
from provider.apps import AppCall, AppKind
from provider.pacing import KEEPALIVE
from tests.unit.fakes import FakeAppInterface, fake_session

CONVERSATION = "3f2b0f3e-9a4c-4c5e-8d3b-2a1b0c9d8e7f"
WORKFLOW_EVENTS: list[dict[str, Any]] = [
    {"event": "workflow_started", "data": {}},
    {"event": "node_started", "data": {"title": "LLM", "node_type": "llm"}},
    {"event": "text_chunk", "data": {"text": "Hello "}},
    {"event": "text_chunk", "data": {"text": "ducks"}},
    {"event": "node_finished", "data": {"title": "LLM", "status": "succeeded"}},
    {"event": "workflow_finished", "data": {"status": "succeeded", "outputs": {"text": "Hello ducks"}}},
]


def steps(kind: AppKind, app: FakeAppInterface, **run: Any) -> list[calls.Step]:
    session = fake_session(**{kind: app})
    return list(calls.run(AppCall(session, kind=kind, setting=f"{kind}_app", app_id="a"), 30.0, **run))


def test_a_workflow_gives_progress_then_its_outputs() -> None:
    *progress, result = steps("workflow", FakeAppInterface(events=WORKFLOW_EVENTS))
    assert progress == [
        calls.Progress(1, "Workflow started."),
        calls.Progress(2, "Node started: LLM"),
        calls.Progress(3, "Hello "),
        calls.Progress(4, "ducks"),
        calls.Progress(5, "Node finished: LLM (succeeded)"),
        calls.Progress(6, "Workflow succeeded."),
    ]
    assert result == {
        "content": [{"type": "text", "text": "Hello ducks"}],
        "structuredContent": {"text": "Hello ducks"},
        "isError": False,
    }


def test_several_outputs_are_given_as_json_text_too() -> None:
    collected = calls.Collected(kind="workflow")
    collected.feed({"event": "workflow_finished", "data": {"status": "succeeded", "outputs": {"a": 1, "b": "x"}}})
    assert collected.result()["content"] == [{"type": "text", "text": '{"a": 1, "b": "x"}'}]
    assert collected.result()["structuredContent"] == {"a": 1, "b": "x"}


def test_a_failed_workflow_run_is_a_tool_error() -> None:
    events = [
        *WORKFLOW_EVENTS[:2],
        {"event": "workflow_finished", "data": {"status": "failed", "error": "Model down", "outputs": None}},
    ]
    result = steps("workflow", FakeAppInterface(events=events))[-1]
    assert result == calls.error_result("The workflow run ended failed: Model down.")
    assert result["isError"] is True


def test_a_workflow_without_its_end_is_a_tool_error() -> None:
    assert steps("workflow", FakeAppInterface(events=WORKFLOW_EVENTS[:3]))[-1] == calls.error_result(
        "The workflow ended without a result."
    )


def test_a_chat_answer_carries_its_conversation_id() -> None:
    events = [
        {"event": "message", "answer": "Turn ", "conversation_id": CONVERSATION},
        {"event": "message", "answer": "1", "conversation_id": CONVERSATION},
        {"event": "message_end", "conversation_id": CONVERSATION},
    ]
    *progress, result = steps("chat", FakeAppInterface(events=events))
    assert [p.message for p in progress if isinstance(p, calls.Progress)] == ["Turn ", "1"]
    assert result == {
        "content": [{"type": "text", "text": "Turn 1"}, {"type": "text", "text": f"conversation_id: {CONVERSATION}"}],
        "structuredContent": {"answer": "Turn 1", "conversation_id": CONVERSATION},
        "isError": False,
    }


def test_a_replaced_answer_and_an_agents_messages() -> None:
    collected = calls.Collected(kind="chat")
    collected.feed({"event": "agent_message", "answer": "bad words"})
    collected.feed({"event": "message_replace", "answer": "Replaced."})
    assert collected.result()["structuredContent"] == {"answer": "Replaced."}


def test_an_error_event_and_a_failed_chatflow_are_tool_errors() -> None:
    collected = calls.Collected(kind="chat")
    collected.feed({"event": "error", "status": 400, "code": "x", "message": "Model failed"})
    assert collected.result() == calls.error_result("The app failed: Model failed")
    chatflow = calls.Collected(kind="chat")
    chatflow.feed({"event": "workflow_finished", "data": {"status": "stopped", "error": None}})
    assert chatflow.result() == calls.error_result("The app's run ended stopped: no reason given.")


def test_a_completion_answer() -> None:
    result = steps("completion", FakeAppInterface(events=[{"event": "message", "answer": "Dear Ada"}]))[-1]
    assert result == {
        "content": [{"type": "text", "text": "Dear Ada"}],
        "structuredContent": {"answer": "Dear Ada"},
        "isError": False,
    }


def test_an_app_that_breaks_mid_stream_is_a_tool_error_with_a_safe_message() -> None:
    app = FakeAppInterface(events=WORKFLOW_EVENTS[:2], error="read app failed: internal host 10.0.0.5 gone")
    *progress, result = steps("workflow", app)
    assert len(progress) == 2
    assert result == calls.error_result("The app failed while answering.")
    assert "10.0.0.5" not in str(result)


class SilentApp(FakeAppInterface):
    """One event, then nothing until `release` is set."""

    release: threading.Event = threading.Event()

    def _stream(self) -> Iterator[dict[str, Any]]:
        yield WORKFLOW_EVENTS[0]
        self.release.wait(30)
        yield from WORKFLOW_EVENTS[1:]


def test_a_call_past_the_deadline_ends_with_a_clear_error_not_a_hang() -> None:
    app = SilentApp()
    app.release = threading.Event()
    session = fake_session(workflow=app)
    run = calls.run(AppCall(session, kind="workflow", setting="workflow_app", app_id="a"), 0.05, deadline_seconds=0.3)
    try:
        seen = list(run)
    finally:
        app.release.set()
    assert seen[0] == calls.Progress(1, "Workflow started.")
    assert KEEPALIVE in seen
    result = seen[-1]
    assert isinstance(result, dict)
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("The app did not finish within 0.3 s")
