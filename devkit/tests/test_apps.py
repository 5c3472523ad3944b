"""The demo app backend answers app calls the way Dify's API does (devkit/apps)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from app_support import (
    COMPLETION_WORKS,
    Event,
    StoredFile,
    app,
    backend,
    chat_request,
    collect,
    collect_failure,
    deltas,
    drain,
    flow_request,
    kinds,
    tool_file,
)

from dify_plugin_devkit._apps import DEFAULT_APPS_FILE, AppBackend, AppCallError, load_apps, parse_apps
from dify_plugin_devkit._apps.dify import DifyBehaviour
from dify_plugin_devkit._errors import ConfigError

WORKFLOW_EVENTS = ["workflow_started", "node_started", "node_finished", "node_started"]


ECHO = app(id="echo", mode="chat", script="echo")
ANSWER_TEXT = "Quack!  I am   the duck.\nLine two  "


# --- event order and content per mode ---------------------------------------------


def test_chat_streams_one_message_per_word_then_message_end() -> None:
    events = collect(backend(ECHO), chat_request("echo", "hello there duck"))
    assert kinds(events) == ["message"] * 5 + ["message_end"]
    assert [e["answer"] for e in events[:-1]] == ["Turn", " 1:", " hello", " there", " duck"]
    first, end = events[0], events[-1]
    for event in events:
        assert event["task_id"] == first["task_id"]
        assert event["message_id"] == first["message_id"] == event["id"]
        assert event["conversation_id"] == first["conversation_id"]
        assert isinstance(event["created_at"], int)
    usage = end["metadata"]["usage"]
    assert usage["completion_tokens"] == 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert (usage["total_price"], usage["currency"]) == ("0.0", "USD")
    assert isinstance(usage["latency"], float)
    assert end["metadata"]["retriever_resources"] == []
    assert end["files"] == []


def test_joined_deltas_give_the_exact_answer_with_placeholders_filled() -> None:
    spec = app(id="a", mode="chat", script="answer", answer=ANSWER_TEXT + " {{query}}!")
    events = collect(backend(spec), chat_request("a", "why?"))
    assert deltas(events) == ANSWER_TEXT + " why?!"


def test_agent_chat_streams_thought_agent_messages_filled_thought_and_end() -> None:
    spec = app(id="agent", mode="agent-chat", script="echo")
    events = collect(backend(spec), chat_request("agent", "hi duck"))
    assert kinds(events) == ["agent_thought"] + ["agent_message"] * 4 + ["agent_thought", "message_end"]
    first, second = events[0], events[-2]
    assert first["id"] == second["id"] != first["message_id"]
    assert (first["position"], second["position"]) == (1, 1)
    assert (first["thought"], first["observation"], first["tool"], first["tool_input"]) == ("", "", "", "")
    assert second["thought"] == "Turn 1: hi duck" == deltas(events, "agent_message")
    assert {e["conversation_id"] for e in events} == {first["conversation_id"]}


def test_advanced_chat_streams_the_graph_with_messages_inside_the_llm_node() -> None:
    spec = app(id="flow", mode="advanced-chat", script="echo")
    events = collect(backend(spec), chat_request("flow", "hi"))
    assert kinds(events) == [
        "workflow_started",
        "node_started", "node_finished",  # start
        "node_started", "message", "message", "message", "node_finished",  # llm
        "node_started", "node_finished",  # answer
        "message_end",  # Dify 1.13.2 ends the message before the run
        "workflow_finished",
    ]  # fmt: skip
    assert deltas(events) == "Turn 1: hi"
    assert [e["data"]["node_type"] for e in events if e["event"] == "node_started"] == ["start", "llm", "answer"]
    assert events[-1]["data"]["outputs"] == {"answer": "Turn 1: hi"}
    assert {e["conversation_id"] for e in events} == {events[-1]["conversation_id"]}


def test_workflow_streams_nodes_text_chunks_and_finish() -> None:
    spec = app(
        id="wf",
        mode="workflow",
        script="workflow",
        answer="About {{topic}} now",
        variables=[{"name": "topic"}],
    )
    events = collect(backend(spec), flow_request("wf", {"topic": "ducks", "undeclared": "dropped"}))
    assert kinds(events) == WORKFLOW_EVENTS + ["text_chunk"] * 3 + [
        "node_finished", "node_started", "node_finished", "workflow_finished",
    ]  # fmt: skip
    run_id = events[0]["workflow_run_id"]
    assert all(e["workflow_run_id"] == run_id and "message_id" not in e for e in events)
    started = events[0]["data"]
    assert started["id"] == run_id
    assert started["inputs"] == {
        "topic": "ducks",
        "sys.files": [],
        "sys.user_id": "DEFAULT-USER",
        "sys.app_id": "wf",
        "sys.workflow_id": started["workflow_id"],
        "sys.workflow_run_id": run_id,
    }  # then the sys.* variables, as Dify 1.13.2 lists them (recorded: inner_wf_stream_good)
    nodes = [e["data"] for e in events if e["event"] == "node_started"]
    assert [(n["node_id"], n["index"], n["predecessor_node_id"]) for n in nodes] == [
        ("start", 1, None), ("llm", 1, None), ("end", 1, None),  # as Dify 1.13.2 reports them
    ]  # fmt: skip
    finished_nodes = [e["data"] for e in events if e["event"] == "node_finished"]
    assert [f["id"] for f in finished_nodes] == [n["id"] for n in nodes]
    assert all(f["status"] == "succeeded" and f["error"] is None for f in finished_nodes)
    chunks = [e["data"] for e in events if e["event"] == "text_chunk"]
    assert "".join(c["text"] for c in chunks) == "About ducks now"
    assert all(c["from_variable_selector"] == ["llm", "text"] for c in chunks)
    finished = events[-1]["data"]
    assert finished["outputs"] == {"text": "About ducks now"}
    assert (finished["status"], finished["error"], finished["total_steps"]) == ("succeeded", None, 3)
    assert finished["workflow_id"] == started["workflow_id"]


def test_workflow_uses_the_declared_nodes() -> None:
    nodes = [
        {"id": "s", "type": "start", "title": "Start"},
        {"id": "k", "type": "knowledge-retrieval", "title": "Search"},
        {"id": "l", "type": "llm", "title": "Write"},
        {"id": "e", "type": "end", "title": "End"},
    ]
    spec = app(id="wf", mode="workflow", script="workflow", answer="Done.", nodes=nodes)
    events = collect(backend(spec), flow_request("wf"))
    assert [e["data"]["node_id"] for e in events if e["event"] == "node_started"] == ["s", "k", "l", "e"]
    chunk_at = kinds(events).index("text_chunk")
    assert events[chunk_at - 1]["data"]["node_id"] == "l"
    assert events[-1]["data"]["total_steps"] == 4


def test_completion_streams_messages_without_a_conversation() -> None:
    """CompletionAppGenerateResponseConverter: `message_id` and `created_at`, no `conversation_id`."""
    spec = app(
        id="c", mode="completion", script="completion", answer="Dear {{name}}, hi.", variables=[{"name": "name"}]
    )
    b = backend(spec)
    first = collect(b, flow_request("c", {"name": "Ann"}))
    second = collect(b, flow_request("c", {"name": "Bob"}))
    assert kinds(first) == ["message"] * 3 + ["message_end"]
    assert deltas(first) == "Dear Ann, hi."
    assert all("conversation_id" not in e for e in first + second)
    assert {e["message_id"] for e in first} == {first[0]["id"]} != {second[0]["message_id"]}
    assert all(isinstance(e["created_at"], int) and e["task_id"] for e in first)


# --- blocking ---------------------------------------------------------------------


def test_chat_blocking_answers_one_message_dict() -> None:
    [response] = collect(backend(ECHO), chat_request("echo", "hi", mode="blocking"))
    assert set(response) == {
        "event", "task_id", "id", "message_id", "conversation_id", "mode", "answer", "metadata", "created_at",
    }  # fmt: skip
    assert (response["event"], response["mode"], response["answer"]) == ("message", "chat", "Turn 1: hi")
    assert response["id"] == response["message_id"]
    assert response["metadata"]["retriever_resources"] == []
    assert response["metadata"]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize("mode", ["advanced-chat"])
def test_other_chat_modes_block_with_their_mode_and_full_answer(mode: str) -> None:
    spec = app(id="x", mode=mode, script="echo")
    [response] = collect(backend(spec), chat_request("x", "hi there", mode="blocking"))
    assert (response["mode"], response["answer"]) == (mode, "Turn 1: hi there")


def test_workflow_blocking_answers_run_data() -> None:
    spec = app(id="wf", mode="workflow", script="workflow", answer="Text.")
    [response] = collect(backend(spec), flow_request("wf", mode="blocking"))
    assert set(response) == {"task_id", "workflow_run_id", "data"}
    assert set(response["data"]) == {
        "id", "workflow_id", "status", "outputs", "error", "elapsed_time",
        "total_tokens", "total_steps", "created_at", "finished_at",
    }  # fmt: skip
    assert response["data"]["id"] == response["workflow_run_id"]
    assert response["data"]["outputs"] == {"text": "Text."}
    assert response["data"]["status"] == "succeeded"


def test_completion_blocking_answers_message_without_conversation() -> None:
    spec = app(id="c", mode="completion", script="completion", answer="One two.")
    [response] = collect(backend(spec), flow_request("c", mode="blocking"))
    assert set(response) == {"event", "task_id", "id", "message_id", "mode", "answer", "metadata", "created_at"}
    assert (response["event"], response["mode"], response["answer"]) == ("message", "completion", "One two.")
    assert response["metadata"]["usage"]["completion_tokens"] == 2


def test_blocking_waits_for_the_whole_script() -> None:
    spec = app(id="a", mode="chat", script="answer", answer="a b c d e", token_delay=0.05)
    start = time.monotonic()
    collect(backend(spec), chat_request("a", "q", mode="blocking"))
    assert time.monotonic() - start >= 4 * 0.05


# --- conversations ----------------------------------------------------------------


def test_second_call_with_returned_conversation_id_is_turn_two() -> None:
    b = backend(ECHO)
    first = collect(b, chat_request("echo", "one"))
    conversation_id = first[-1]["conversation_id"]
    second = collect(b, chat_request("echo", "two", conversation_id=conversation_id, user="someone-else"))
    assert deltas(second) == "Turn 2: two"
    assert second[-1]["conversation_id"] == conversation_id
    assert second[-1]["message_id"] != first[-1]["message_id"]
    fresh = collect(b, chat_request("echo", "three", conversation_id=""))
    assert deltas(fresh) == "Turn 1: three"


def test_blocking_continues_conversations_too() -> None:
    b = backend(ECHO)
    [first] = collect(b, chat_request("echo", "one", mode="blocking"))
    [second] = collect(b, chat_request("echo", "two", mode="blocking", conversation_id=first["conversation_id"]))
    assert second["answer"] == "Turn 2: two"


def test_unknown_conversation_is_invalid_param_with_an_empty_message_before_any_event() -> None:
    """ConversationNotExistsError() is a ValueError without text: 400 invalid_param, message ''."""
    events, error = collect_failure(
        backend(ECHO), chat_request("echo", "hi", conversation_id="0b0e1c57-0000-4000-8000-000000000000")
    )
    assert events == []
    assert error.body() == {"code": "invalid_param", "message": "", "status": 400}


@pytest.mark.parametrize("mode", ["chat", "advanced-chat"])
def test_a_conversation_id_that_is_no_uuid_is_difys_generic_500_unless_the_quirk_is_off(mode: str) -> None:
    """Recorded: inner_chat_bad_conv_format (PostgreSQL refuses the uuid cast)."""
    spec = app(id="c", mode=mode, script="echo")
    _, error = collect_failure(backend(spec), chat_request("c", "hi", conversation_id="not-a-uuid"))
    assert (error.status, error.body()) == (500, {"message": "Internal Server Error", "code": "unknown", "status": 500})
    fixed = DifyBehaviour(quirks={"malformed_conversation_id_is_500": False})
    _, error = collect_failure(backend(spec, dify=fixed), chat_request("c", "hi", conversation_id="not-a-uuid"))
    assert error.body() == {"code": "invalid_param", "message": "", "status": 400}


def test_a_completion_app_called_by_a_plugin_is_500_in_dify_1_13_2_and_runs_with_the_quirk_off() -> None:
    """Recorded: inner_completion_stream (KeyError 'query' in Dify's completion generator)."""
    spec = app(id="cp", mode="completion", script="completion", answer="Hi {{name}}", variables=[{"name": "name"}])
    request = flow_request("cp", {"name": "Ada"})
    events, error = collect_failure(backend(spec, dify=DifyBehaviour()), request)
    assert events == []
    assert error.response_text() == '{"message":"Internal Server Error","code":"unknown","status":500}\n'
    override = spec.model_copy(update={"quirks": {"completion_from_plugin_fails": False}})
    assert deltas(collect(backend(override, dify=DifyBehaviour()), request)) == "Hi Ada"
    assert deltas(collect(backend(spec), request)) == "Hi Ada"  # COMPLETION_WORKS: the quirk off


def test_conversation_of_another_app_does_not_exist() -> None:
    other = app(id="other", mode="chat", script="echo")
    b = backend(ECHO, other)
    conversation_id = collect(b, chat_request("echo", "hi"))[-1]["conversation_id"]
    _, error = collect_failure(b, chat_request("other", "hi", conversation_id=conversation_id))
    assert (error.status, error.message) == (400, "")


def test_conversation_keeps_the_inputs_of_its_first_turn() -> None:
    spec = app(id="a", mode="chat", script="answer", answer="Hi {{who}}", variables=[{"name": "who"}])
    b = backend(spec)
    first = collect(b, chat_request("a", "q", inputs={"who": "Ann"}))
    second = collect(b, chat_request("a", "q", inputs={}, conversation_id=first[-1]["conversation_id"]))
    assert deltas(second) == "Hi Ann"


def test_concurrent_turns_of_one_conversation_get_distinct_numbers() -> None:
    b = backend(app(id="echo", mode="chat", script="echo", token_delay=0.01))

    async def scenario() -> list[str]:
        first: list[Event] = []
        await drain(b.invoke(chat_request("echo", "start")), first)
        conversation_id = first[-1]["conversation_id"]
        sinks: list[list[Event]] = [[] for _ in range(20)]
        await asyncio.gather(
            *(drain(b.invoke(chat_request("echo", "x", conversation_id=conversation_id)), s) for s in sinks)
        )
        return [deltas(s) for s in sinks]

    answers = asyncio.run(scenario())
    assert sorted(answers) == sorted(f"Turn {n}: x" for n in range(2, 22))


# --- request errors (all before the first event) -----------------------------------


@pytest.mark.parametrize("query", [None, ""])
def test_chat_app_without_query_is_missing_query(query: str | None) -> None:
    events, error = collect_failure(backend(ECHO), chat_request("echo", query))
    assert events == []
    assert error.body() == {"code": "invalid_param", "message": "missing query", "status": 400}


@pytest.mark.parametrize("mode", ["chat", "agent-chat", "advanced-chat"])
def test_chat_app_called_through_workflow_interface_is_missing_query(mode: str) -> None:
    spec = app(id="x", mode=mode, script="echo")
    for response_mode in ("streaming", "blocking"):
        events, error = collect_failure(backend(spec), flow_request("x", mode=response_mode))
        assert (events, error.status, error.message) == ([], 400, "missing query")


def test_workflow_app_called_through_chat_interface_ignores_query() -> None:
    spec = app(id="wf", mode="workflow", script="workflow", answer="Text.")
    events = collect(backend(spec), chat_request("wf", "ignored"))
    assert events[-1]["data"]["outputs"] == {"text": "Text."}


@pytest.mark.parametrize("app_id", ["missing", "", None])
def test_unknown_app_is_app_not_found(app_id: str | None) -> None:
    b = backend(ECHO)
    events, error = collect_failure(b, chat_request(app_id, "hi"))  # type: ignore[arg-type]
    assert (events, error.status, error.code, error.message) == ([], 400, "invalid_param", "app not found")
    with pytest.raises(AppCallError, match="app not found"):
        b.fetch_app("missing")


def test_fetch_app_answers_the_apps_parameters_only() -> None:
    spec = app(id="wf", mode="workflow", script="workflow", answer="x", variables=[{"name": "t", "required": False}])
    info = backend(spec).fetch_app("wf")
    assert not {"id", "name", "mode", "data"} & set(info)
    [field] = info["user_input_form"]
    assert field["text-input"]["variable"] == "t"
    assert field["text-input"]["required"] is False


VARIABLE_APP = app(
    id="v",
    mode="workflow",
    script="workflow",
    answer="{{topic}} {{note}}",
    variables=[{"name": "topic"}, {"name": "note", "required": False}],
)


@pytest.mark.parametrize("inputs", [{}, {"topic": None}])
@pytest.mark.parametrize("response_mode", ["streaming", "blocking"])
def test_missing_required_variable_fails_before_any_event(inputs: dict[str, Any], response_mode: str) -> None:
    events, error = collect_failure(backend(VARIABLE_APP), flow_request("v", inputs, mode=response_mode))
    assert events == []
    assert error.body() == {"code": "invalid_param", "message": "topic is required in input form", "status": 400}


def test_non_string_variable_fails_with_type_message() -> None:
    _, error = collect_failure(backend(VARIABLE_APP), flow_request("v", {"topic": "t", "note": 3}))
    assert (error.status, error.message) == (400, "(type 'text-input') note in input form must be a string")


def test_empty_string_satisfies_a_required_variable_as_in_recent_dify() -> None:
    """_validate_inputs only refuses a required value that is missing (None)."""
    events = collect(backend(VARIABLE_APP), flow_request("v", {"topic": ""}))
    assert events[-1]["data"]["outputs"] == {"text": " "}


def test_optional_variable_may_be_left_out() -> None:
    events = collect(backend(VARIABLE_APP), flow_request("v", {"topic": "ducks"}))
    assert events[-1]["data"]["outputs"] == {"text": "ducks "}


def test_new_chat_conversation_validates_variables() -> None:
    spec = app(id="a", mode="chat", script="answer", answer="{{who}}", variables=[{"name": "who"}])
    events, error = collect_failure(backend(spec), chat_request("a", "q"))
    assert (events, error.message) == ([], "who is required in input form")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"response_mode": "sometimes"}, "response_mode must be 'streaming' or 'blocking'"),
        ({"inputs": ["x"]}, "inputs must be an object"),
        ({"query": 5}, "query must be a string"),
    ],
)
def test_malformed_request_is_invalid_param(change: dict[str, Any], message: str) -> None:
    _, error = collect_failure(backend(ECHO), {**chat_request("echo", "hi"), **change})
    assert (error.status, error.code, error.message) == (400, "invalid_param", message)


# --- faults -----------------------------------------------------------------------


def test_fail_after_as_event_sends_n_events_then_dify_error_event_and_ends() -> None:
    spec = app(id="f", mode="chat", script="answer", answer="a b c d e", fail_after=3, fail_message="boom")
    events = collect(backend(spec), chat_request("f", "q"))
    assert kinds(events) == ["message"] * 3 + ["error"]
    error = events[-1]
    assert (error["status"], error["code"], error["message"]) == (400, "completion_request_error", "boom")
    assert error["message_id"] == events[0]["message_id"]
    assert "task_id" not in error


def test_workflow_fail_event_carries_the_run_id() -> None:
    spec = app(id="f", mode="workflow", script="workflow", answer="a b", fail_after=1)
    events = collect(backend(spec), flow_request("f"))
    assert kinds(events) == ["workflow_started", "error"]
    assert events[1]["workflow_run_id"] == events[0]["workflow_run_id"]
    assert events[1]["message"] == "Simulated failure from the devkit demo app"


def test_fail_after_as_invocation_raises_transport_error_after_n_events() -> None:
    spec = app(id="f", mode="workflow", script="workflow", answer="a b", fail_after=2, fail_as="invocation")
    events, error = collect_failure(backend(spec), flow_request("f"))
    assert kinds(events) == ["workflow_started", "node_started"]
    assert (error.status, error.message) == (None, "Simulated failure from the devkit demo app")


def test_blocking_call_of_app_breaking_mid_stream_raises_transport_error() -> None:
    spec = app(
        id="f", mode="chat", script="answer", answer="a b c", fail_after=1, fail_as="invocation", fail_message="x"
    )
    events, error = collect_failure(backend(spec), chat_request("f", "q", mode="blocking"))
    assert (events, error.status, error.message) == ([], None, "x")


def test_fail_after_beyond_the_script_never_fires() -> None:
    spec = app(id="f", mode="chat", script="answer", answer="a", fail_after=2)
    assert kinds(collect(backend(spec), chat_request("f", "q"))) == ["message", "message_end"]


@pytest.mark.parametrize("response_mode", ["streaming", "blocking"])
def test_silent_after_sends_n_events_then_hangs(response_mode: str) -> None:
    spec = app(id="s", mode="workflow", script="workflow", answer="a b", silent_after=2)

    async def scenario() -> list[Event]:
        received: list[Event] = []
        stream = backend(spec).invoke(flow_request("s", mode=response_mode))

        async def receive_until_silent() -> None:
            while True:
                received.append(await asyncio.wait_for(anext(stream), timeout=0.3))

        with pytest.raises(TimeoutError):
            await receive_until_silent()
        await stream.aclose()
        return received

    received = asyncio.run(scenario())
    assert kinds(received) == (["workflow_started", "node_started"] if response_mode == "streaming" else [])


@pytest.mark.parametrize("response_mode", ["streaming", "blocking"])
def test_first_event_delay_holds_back_the_first_event(response_mode: str) -> None:
    spec = app(id="slow", mode="workflow", script="workflow", answer="Finally.", first_event_delay=0.2)

    async def scenario() -> float:
        start = time.monotonic()
        stream = backend(spec).invoke(flow_request("slow", mode=response_mode))
        await anext(stream)
        elapsed = time.monotonic() - start
        await stream.aclose()
        return elapsed

    assert asyncio.run(scenario()) >= 0.2


def test_request_errors_do_not_wait_for_first_event_delay() -> None:
    spec = app(id="slow", mode="chat", script="answer", answer="x", first_event_delay=5)
    start = time.monotonic()
    collect_failure(backend(spec), chat_request("slow", ""))
    assert time.monotonic() - start < 4  # not the 5 s delay (slack for a busy machine)


# --- fixtures ---------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_demo_apps_load_with_their_stable_ids() -> None:
    ids = [a.id for a in load_apps(DEFAULT_APPS_FILE)]
    assert ids == [
        "demo-chat-echo", "demo-chat-answer", "demo-agent", "demo-chatflow", "demo-workflow",
        "demo-completion", "demo-chat-fails", "demo-workflow-fails", "demo-workflow-breaks",
        "demo-slow-workflow", "demo-silent-workflow", "demo-file-echo", "demo-completion-file-echo",
        "demo-workflow-every-event", "demo-chat-every-event", "demo-chatflow-fails",
    ]  # fmt: skip


def test_the_failing_chatflow_demo_fails_as_the_recorded_chatflow_does() -> None:
    """Recorded: inner_chat_fail_stream and inner_chat_fail_blocking."""
    b = AppBackend.from_files(DEFAULT_APPS_FILE)
    events = collect(b, chat_request("demo-chatflow-fails", "hi"))
    assert kinds(events)[-3:] == ["node_finished", "workflow_finished", "error"]
    assert "message_end" not in kinds(events)
    assert (events[-3]["data"]["status"], events[-2]["data"]["status"]) == ("failed", "failed")
    assert set(events[-1]) == {"event", "conversation_id", "message_id", "created_at", "code", "status", "message"}
    message = "Run failed: The model provider returned an error (simulated)."
    assert (events[-1]["code"], events[-1]["status"], events[-1]["message"]) == ("invalid_param", 400, message)
    _, error = collect_failure(b, chat_request("demo-chatflow-fails", "hi", mode="blocking"))
    assert error.response_text() == json.dumps(error.body(), separators=(",", ":")) + "\n"
    assert error.body() == {"code": "invalid_param", "message": message, "status": 400}


def test_default_demo_apps_behave_as_documented() -> None:
    b = AppBackend.from_files(DEFAULT_APPS_FILE, dify=COMPLETION_WORKS)
    assert b.get("demo-slow-workflow").first_event_delay == 3  # type: ignore[union-attr]
    events = collect(b, chat_request("demo-chat-fails", "hi"))
    assert kinds(events) == ["message"] * 3 + ["error"]
    assert events[-1]["message"] == "The model provider returned an error (simulated)."
    [done] = collect(b, flow_request("demo-completion", {"name": "Ann"}, mode="blocking"))
    assert done["answer"] == "Dear Ann, thank you for trying the Endpoint Gallery."


def test_load_error_names_file_app_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "apps.yaml",
        """
apps:
  - {id: a, name: A, mode: chat, script: echo}
  - {id: b, name: B, mode: chat, script: echo}
  - {id: x, name: X, mode: chat, script: echo, token_delay: fast}
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_apps(path)
    assert str(caught.value) == (
        f"{path}: apps[2] (id 'x'): token_delay: Input should be a valid number, unable to parse string as a number"
    )


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "apps.yaml", "apps:\n  - {id: a, name: A, mode: chat, script: echo, token_dealy: 1}\n")
    with pytest.raises(ConfigError, match=r"apps\[0\] \(id 'a'\): token_dealy: Extra inputs are not permitted"):
        load_apps(path)
    top = write(tmp_path, "top.yaml", "apps: []\nextra: 1\n")
    with pytest.raises(ConfigError, match="extra: Extra inputs are not permitted"):
        load_apps(top)


@pytest.mark.parametrize(
    ("app_yaml", "expected"),
    [
        ("{id: a, name: A, mode: workflow, script: echo}", "script: 'echo' needs a chat-type mode"),
        ("{id: a, name: A, mode: chat, script: answer}", "answer: required by script 'answer'"),
        ("{id: a, name: A, mode: chat, script: echo, answer: hi}", "answer: not used by script 'echo'"),
        ("{id: a, name: A, mode: workflow, script: workflow, answer: '{{nope}}'}", r"placeholder \{\{nope\}\}"),
        ("{id: a, name: A, mode: chat, script: echo, fail_as: invocation}", "fail_as: only has an effect"),
        ("{id: a, name: A, mode: chat, script: echo, nodes: []}", "nodes: only workflow and advanced-chat"),
        ("{id: a, name: A, mode: chat, script: echo, variables: [{name: v, type: date}]}", r"variables\[0\]\.type"),
        ("{id: a, name: A, mode: sometimes, script: echo}", "mode: Input should be"),
    ],
)
def test_inconsistent_app_is_rejected_naming_the_field(tmp_path: Path, app_yaml: str, expected: str) -> None:
    path = write(tmp_path, "apps.yaml", f"apps:\n  - {app_yaml}\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: apps\[0\] \(id 'a'\): .*{expected}"):
        load_apps(path)


def test_duplicate_ids_in_one_file_and_bad_yaml_are_load_errors(tmp_path: Path) -> None:
    dup = write(
        tmp_path,
        "dup.yaml",
        "apps:\n  - {id: a, name: A, mode: chat, script: echo}\n  - {id: a, name: B, mode: chat, script: echo}\n",
    )
    with pytest.raises(ConfigError, match=r"apps\[1\] \(id 'a'\): id: duplicate of apps\[0\]"):
        load_apps(dup)
    broken = write(tmp_path, "broken.yaml", "apps: [\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(broken))}: not valid YAML"):
        load_apps(broken)


def test_later_file_overrides_an_app_with_the_same_id(tmp_path: Path) -> None:
    override = write(
        tmp_path,
        "override.yaml",
        "apps:\n"
        "  - {id: demo-chat-echo, name: Mine, mode: chat, script: answer, answer: Overridden.}\n"
        "  - {id: my-app, name: New, mode: completion, script: completion, answer: New.}\n",
    )
    b = AppBackend.from_files(DEFAULT_APPS_FILE, override)
    assert b.get("demo-chat-echo").name == "Mine"  # type: ignore[union-attr]
    assert b.get("my-app") is not None
    assert b.get("demo-workflow") is not None
    assert len(b.apps) == len(load_apps(DEFAULT_APPS_FILE)) + 1
    assert deltas(collect(b, chat_request("demo-chat-echo", "hi"))) == "Overridden."


def test_oldest_conversations_are_forgotten_beyond_the_cap() -> None:
    b = backend(app(id="c", mode="chat", script="echo"))
    b.max_conversations = 2
    first, second, third = (collect(b, chat_request("c", f"q{i}"))[0]["conversation_id"] for i in range(3))
    _, error = collect_failure(b, chat_request("c", "again", conversation_id=first))
    assert (error.status, error.code, error.message) == (400, "invalid_param", "")
    for kept in (second, third):
        assert deltas(collect(b, chat_request("c", "again", conversation_id=kept))) == "Turn 2: again"


def test_the_readme_example_app_is_valid_and_fails_in_its_llm_node() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n- id: my-flaky-workflow")[1].split("```")[0]
    [spec] = parse_apps({"apps": yaml.safe_load("- id: my-flaky-workflow" + block)}, "README.md")
    b = backend(spec, file_lookup=lambda _id: StoredFile("a.pdf", "application/pdf", 3, ".pdf"))
    events = collect(b, flow_request(spec.id, {"doc": tool_file("x")}))
    failed = [e["data"]["node_id"] for e in events if e["event"] == "node_finished" and e["data"]["status"] == "failed"]
    assert failed == ["llm"]
    assert events[-1]["data"]["error"] == "Rate limit reached"


# --- what the demo apps answer: the question, the turn, named outputs -------------------


def test_the_gallery_duck_answers_with_the_question_and_the_turn() -> None:
    """demo-chat-answer: a follow-up visibly continues the conversation."""
    b = AppBackend.from_files(DEFAULT_APPS_FILE)
    first = collect(b, chat_request("demo-chat-answer", "Do ducks sleep?"))
    again = collect(b, chat_request("demo-chat-answer", "And swim?", conversation_id=first[-1]["conversation_id"]))
    assert deltas(first).startswith("Quack! Turn 1: you asked “Do ducks sleep?”.")
    assert deltas(again).startswith("Quack! Turn 2: you asked “And swim?”.")


WORKFLOW_OUTPUTS = app(
    id="report",
    mode="workflow",
    script="workflow",
    answer="Report on {{topic}}.",
    variables=[{"name": "topic"}, {"name": "count", "type": "number", "required": False}],
    outputs={
        "summary": "{{answer}}",
        "headline": "All about {{topic}}",
        "count": "{{count}}",
        "score": 0.5,
        "done": True,
        "tags": ["{{topic}}", "demo"],
        "details": {"topic": "{{topic}}", "words": 3},
    },
)


@pytest.mark.parametrize("mode", ["streaming", "blocking"])
def test_workflow_outputs_are_named_and_typed_in_the_config(mode: str) -> None:
    events = collect(backend(WORKFLOW_OUTPUTS), flow_request("report", {"topic": "ponds", "count": 7}, mode=mode))
    outputs = events[-1]["data"]["outputs"]
    assert outputs == {
        "summary": "Report on ponds.",
        "headline": "All about ponds",
        "count": 7,  # a placeholder alone keeps the input's type
        "score": 0.5,
        "done": True,
        "tags": ["ponds", "demo"],
        "details": {"topic": "ponds", "words": 3},
    }
    if mode == "streaming":  # the End node gives the same outputs; the answer still streams
        end = [e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "end"]
        assert end[0]["outputs"] == outputs
        assert "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk") == "Report on ponds."


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"outputs": {"x": "{{nope}}"}}, "outputs.x: placeholder {{nope}} is neither a declared variable nor 'answer'"),
        ({"outputs": {"bad name": 1}}, "outputs: 'bad name' is not a variable name"),
        ({"outputs": {}}, "outputs: name at least one output"),
        ({"mode": "chat", "script": "answer", "outputs": {"x": 1}}, "outputs: only a workflow app's run"),
    ],
)
def test_bad_outputs_are_refused_naming_the_field(fields: dict[str, Any], expected: str) -> None:
    spec = {"id": "a", "name": "a", "mode": "workflow", "script": "workflow", "answer": "x", **fields}
    with pytest.raises(ConfigError) as caught:
        parse_apps({"apps": [spec]}, "devkit.yaml")
    assert expected in str(caught.value)
