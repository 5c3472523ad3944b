"""Demo apps fail the way Dify's API does: the HTTP errors before a stream, the error
events inside one, failed and stopped workflow runs, and what blocking calls answer.

Sources: libs/external_api.py (error JSON), base_app_generate_response_converter.py
(`_error_to_stream_response`), the generate_task_pipeline.py of each mode, the
agent-chat generator, ConversationService, and the daemon's texts (task.go,
calldify/http_request.go, http_warpper.go).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from app_support import (
    Event,
    app,
    backend,
    chat_request,
    collect,
    collect_failure,
    deltas,
    flow_request,
    kinds,
    of_kind,
)

from dify_plugin_devkit._apps import AppBackend, AppCallError, parse_apps
from dify_plugin_devkit._apps.errors import SERVER_ERROR_BODY
from dify_plugin_devkit._backwards import BackwardsInvoker, describe_app_error
from dify_plugin_devkit._errors import ConfigError

ECHO = app(id="echo", mode="chat", script="echo")
AGENT = app(id="agent", mode="agent-chat", script="echo")
FLOW = app(id="flow", mode="advanced-chat", script="echo")
CHAT_ERROR_KEYS = {"event", "conversation_id", "message_id", "created_at", "code", "status", "message"}
SERVER_ERROR_TEXT = "Internal Server Error, please contact support."


def failing(mode: str, **knobs: Any) -> Any:
    script = {"workflow": "workflow", "completion": "completion"}.get(mode, "answer")
    return app(id="f", mode=mode, script=script, answer="one two three four", **knobs)


def request_for(mode: str, response_mode: str = "streaming") -> dict[str, Any]:
    if mode in ("workflow", "completion"):
        return flow_request("f", mode=response_mode)
    return chat_request("f", "hi", mode=response_mode)


# --- errors before the stream: Dify's error JSON and the daemon's text --------------


def test_error_json_has_difys_keys_and_the_daemon_wraps_it_with_a_newline() -> None:
    _, error = collect_failure(backend(ECHO), chat_request("echo", ""))
    assert error.body() == {"code": "invalid_param", "message": "missing query", "status": 400}
    assert describe_app_error(error) == (
        "invoke app failed: request failed with status code: 400 and respond with: "
        '{"code":"invalid_param","message":"missing query","status":400}\n'  # compact, as Dify 1.13.2 writes it
    )


def test_a_failure_after_the_stream_began_is_read_app_failed() -> None:
    assert describe_app_error(AppCallError.transport("boom")) == "read app failed: request failed: boom"


def test_an_unexpected_error_is_difys_generic_500() -> None:
    error = AppCallError.server_error("KeyError: 'x'")
    assert error.body() == {"message": "Internal Server Error", "code": "unknown", "status": 500}
    assert describe_app_error(error).endswith(
        'status code: 500 and respond with: {"message":"Internal Server Error","code":"unknown","status":500}\n'
    )


def test_agent_chat_refuses_blocking_mode_before_anything_else() -> None:
    events, error = collect_failure(backend(AGENT), chat_request("agent", "hi", mode="blocking", conversation_id="x"))
    assert events == []
    assert error.body() == {
        "code": "invalid_param",
        "message": "Agent Chat App does not support blocking mode",
        "status": 400,
    }
    _, missing = collect_failure(backend(AGENT), chat_request("agent", "", mode="blocking"))
    assert missing.message == "missing query"  # invoke_app checks the query first
    assert deltas(collect(backend(AGENT), chat_request("agent", "hi")), "agent_message") == "Turn 1: hi"


@pytest.mark.parametrize("spec", [ECHO, AGENT], ids=["chat", "agent-chat"])
def test_unknown_conversation_of_a_chat_app_is_400_with_an_empty_message(spec: Any) -> None:
    events, error = collect_failure(
        backend(spec), chat_request(spec.id, "hi", conversation_id="0b0e1c57-0000-4000-8000-000000000000")
    )
    assert events == []
    assert describe_app_error(error) == (
        "invoke app failed: request failed with status code: 400 and respond with: "
        '{"code":"invalid_param","message":"","status":400}\n'
    )


def test_unknown_conversation_of_a_chatflow_is_400_too_and_a_known_one_continues() -> None:
    """Recorded: inner_chat_unknown_conv_stream (Dify 1.13.2 starts no new conversation)."""
    b = backend(FLOW)
    events, error = collect_failure(
        b, chat_request("flow", "hi", conversation_id="0b0e1c57-0000-4000-8000-000000000000")
    )
    assert (events, error.body()) == ([], {"code": "invalid_param", "message": "", "status": 400})
    conversation_id = collect(b, chat_request("flow", "hi"))[-1]["conversation_id"]
    again = collect(b, chat_request("flow", "again", conversation_id=conversation_id))
    assert deltas(again) == "Turn 2: again"


def test_a_chatflow_checks_each_turns_inputs_a_chat_app_keeps_the_first() -> None:
    variables = [{"name": "who"}]
    flow = app(id="flow", mode="advanced-chat", script="answer", answer="Hi {{who}}", variables=variables)
    chat = app(id="chat", mode="chat", script="answer", answer="Hi {{who}}", variables=variables)
    b = backend(flow, chat)
    for spec in (flow, chat):
        first = collect(b, chat_request(spec.id, "q", inputs={"who": "Ann"}))
        conversation_id = first[-1]["conversation_id"]
        if spec is flow:
            second = collect(b, chat_request("flow", "q", inputs={"who": "Bob"}, conversation_id=conversation_id))
            assert deltas(second) == "Hi Bob"
            _, error = collect_failure(b, chat_request("flow", "q", conversation_id=conversation_id))
            assert error.message == "who is required in input form"
        else:
            second = collect(b, chat_request("chat", "q", inputs={}, conversation_id=conversation_id))
            assert deltas(second) == "Hi Ann"


# --- failed workflow runs -------------------------------------------------------------


def test_failed_workflow_run_ends_with_failed_node_and_run_and_no_error_event() -> None:
    spec = failing("workflow", fail_after=4, fail_as="workflow", fail_message="model down")
    events = collect(backend(spec), request_for("workflow"))
    assert kinds(events) == [
        "workflow_started", "node_started", "node_finished", "node_started", "node_finished", "workflow_finished",
    ]  # fmt: skip
    llm, run = events[-2]["data"], events[-1]["data"]
    assert (llm["node_id"], llm["status"], llm["error"], llm["outputs"]) == (
        "llm",
        "failed",
        "model down",
        {},
    )  # outputs {} as recorded
    assert llm["id"] == events[3]["data"]["id"]
    assert (run["status"], run["error"], run["outputs"], run["total_steps"]) == ("failed", "model down", {}, 2)
    assert {e["workflow_run_id"] for e in events} == {events[0]["workflow_run_id"]}


def test_failed_workflow_run_blocking_returns_the_result_saying_failed() -> None:
    spec = failing("workflow", fail_after=4, fail_as="workflow", fail_message="model down")
    [result] = collect(backend(spec), request_for("workflow", "blocking"))
    assert (result["data"]["status"], result["data"]["error"]) == ("failed", "model down")
    assert result["workflow_run_id"] == result["data"]["id"]


def test_failed_chatflow_run_also_sends_an_error_event_and_fails_a_blocking_call() -> None:
    """advanced_chat pipeline: workflow_finished (failed), then ValueError("Run failed: ...")."""
    spec = failing("advanced-chat", fail_after=4, fail_as="workflow", fail_message="model down")
    events = collect(backend(spec), request_for("advanced-chat"))
    assert kinds(events)[-3:] == ["node_finished", "workflow_finished", "error"]
    error = events[-1]
    assert set(error) == CHAT_ERROR_KEYS
    assert (error["status"], error["code"], error["message"]) == (400, "invalid_param", "Run failed: model down")
    assert error["message_id"] == events[0]["message_id"]
    _, raised = collect_failure(backend(spec), request_for("advanced-chat", "blocking"))
    assert raised.body() == {"code": "invalid_param", "message": "Run failed: model down", "status": 400}


def test_a_fault_between_nodes_fails_only_the_run() -> None:
    spec = failing("workflow", fail_after=3, fail_as="workflow")
    events = collect(backend(spec), request_for("workflow"))
    assert kinds(events) == ["workflow_started", "node_started", "node_finished", "workflow_finished"]
    assert events[-1]["data"]["status"] == "failed"


@pytest.mark.parametrize("mode", ["workflow", "advanced-chat"])
def test_stopped_run_ends_stopped_by_user(mode: str) -> None:
    spec = failing(mode, fail_after=5, fail_as="stop")
    events = collect(backend(spec), request_for(mode))
    finished = of_kind(events, "workflow_finished")[-1]["data"]
    assert (finished["status"], finished["error"]) == ("stopped", "Stopped by user.")
    assert "error" not in kinds(events)
    assert kinds(events)[-1] == ("message_end" if mode == "advanced-chat" else "workflow_finished")


def test_stopped_chat_ends_its_message_early() -> None:
    spec = failing("chat", fail_after=2, fail_as="stop")
    events = collect(backend(spec), request_for("chat"))
    assert kinds(events) == ["message", "message", "message_end"]
    assert events[-1]["metadata"]["usage"]["completion_tokens"] == 2
    [result] = collect(backend(spec), request_for("chat", "blocking"))
    assert result["answer"] == "one two"


# --- error events ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "status", "message"),
    [
        ("model_error", "completion_request_error", 400, "boom"),
        ("value_error", "invalid_param", 400, "boom"),
        ("internal_error", "internal_server_error", 500, SERVER_ERROR_TEXT),
    ],
)
def test_chat_error_event_has_difys_shape_per_kind(kind: str, code: str, status: int, message: str) -> None:
    knobs: dict[str, Any] = {"fail_after": 1, "fail_kind": kind}
    if kind != "internal_error":
        knobs["fail_message"] = "boom"
    events = collect(backend(failing("chat", **knobs)), request_for("chat"))
    assert kinds(events) == ["message", "error"]
    error = events[-1]
    assert set(error) == CHAT_ERROR_KEYS  # no task_id
    assert (error["code"], error["status"], error["message"]) == (code, status, message)
    assert (error["conversation_id"], error["message_id"]) == (events[0]["conversation_id"], events[0]["message_id"])


def test_completion_error_event_has_no_conversation() -> None:
    events = collect(backend(failing("completion", fail_after=1)), request_for("completion"))
    assert set(events[-1]) == CHAT_ERROR_KEYS - {"conversation_id"}


def test_workflow_error_event_carries_only_the_run_id() -> None:
    events = collect(backend(failing("workflow", fail_after=1, fail_kind="value_error")), request_for("workflow"))
    assert kinds(events) == ["workflow_started", "error"]
    error = events[-1]
    assert set(error) == {"event", "workflow_run_id", "code", "status", "message"}
    assert error["workflow_run_id"] == events[0]["workflow_run_id"]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("model_error", SERVER_ERROR_BODY),
        ("internal_error", SERVER_ERROR_BODY),
        (
            "value_error",
            {"code": "invalid_param", "message": "Simulated failure from the devkit demo app", "status": 400},
        ),
    ],
)
@pytest.mark.parametrize("mode", ["chat", "completion", "advanced-chat"])
def test_blocking_call_of_a_failing_run_is_invoke_app_failed(mode: str, kind: str, body: dict[str, Any]) -> None:
    """The blocking pipelines re-raise the run's error inside the request."""
    events, error = collect_failure(backend(failing(mode, fail_after=1, fail_kind=kind)), request_for(mode, "blocking"))
    assert events == []
    assert error.body() == body
    assert describe_app_error(error).startswith(f"invoke app failed: request failed with status code: {body['status']}")


# --- fetch_app through the daemon ---------------------------------------------------------


def answer(invoker: BackwardsInvoker, invoke_type: str, request: dict[str, Any]) -> list[Event]:
    async def run() -> list[Event]:
        return [event async for event in invoker.answer(invoke_type, "b1", request)]

    return asyncio.run(run())


def test_fetch_app_answers_the_parameters_as_the_daemon_unwraps_them() -> None:
    spec = app(id="wf", mode="workflow", script="workflow", answer="x", variables=[{"name": "topic"}])
    [response, end] = answer(BackwardsInvoker(AppBackend([spec]), app_permission=True), "fetch_app", {"app_id": "wf"})
    assert (response["event"], response["message"], end["event"]) == ("response", "struct", "end")
    parameters = response["data"]
    assert set(parameters) == {
        "opening_statement", "suggested_questions", "suggested_questions_after_answer", "speech_to_text",
        "text_to_speech", "retriever_resource", "annotation_reply", "more_like_this", "user_input_form",
        "sensitive_word_avoidance", "file_upload", "system_parameters",
    }  # fmt: skip
    assert parameters["user_input_form"][0]["text-input"]["variable"] == "topic"


def test_fetch_app_of_an_unknown_app_is_the_daemons_data_is_nil() -> None:
    [error, _] = answer(BackwardsInvoker(AppBackend([]), app_permission=True), "fetch_app", {"app_id": "nope"})
    assert (error["event"], error["message"]) == ("error", "fetch app failed: data is nil")


# --- the fault knobs are validated ----------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "expected"),
    [
        ({"mode": "chat", "fail_after": 1, "fail_as": "invocation", "fail_kind": "value_error"}, "fail_kind: only"),
        ({"mode": "chat", "fail_kind": "value_error"}, "fail_kind: only has an effect together with fail_after"),
        ({"mode": "chat", "fail_after": 1, "fail_kind": "internal_error", "fail_message": "x"}, "fail_message: Dify"),
        ({"mode": "chat", "fail_after": 1, "fail_as": "workflow"}, "fail_as: 'workflow' needs a workflow"),
        ({"mode": "workflow", "fail_after": 0, "fail_as": "workflow"}, "fail_after: at least 1"),
        ({"mode": "workflow", "fail_after": 2, "fail_as": "stop", "fail_message": "x"}, "fail_message: a stopped"),
        ({"mode": "chat", "fail_after": 1, "fail_as": "sometimes"}, "fail_as: Input should be"),
    ],
)
def test_inconsistent_fault_knobs_are_rejected(knobs: dict[str, Any], expected: str) -> None:
    mode = knobs.pop("mode")
    script = "workflow" if mode == "workflow" else "answer"
    with pytest.raises(ConfigError, match=expected):
        parse_apps({"apps": [{"id": "a", "name": "A", "mode": mode, "script": script, "answer": "x", **knobs}]}, "t")
