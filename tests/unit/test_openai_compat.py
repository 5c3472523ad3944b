"""gallery.openai_compat: the pure translation (settings, request, history, events)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gallery import openai_compat as oc
from provider.errors import AppFailed, AppNotConfigured, EndpointError
from provider.settings import EndpointSettings
from tests.unit.fakes import FakeStorage, request

APPS = {"chat_app": {"app_id": "c"}, "workflow_app": {"app_id": "w"}, "completion_app": {"app_id": "p"}}


def chat(body: dict[str, Any]) -> oc.ChatRequest:
    return oc.parse_chat_request(request("POST", "/v1/chat/completions", json=body))


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


# -- models ----------------------------------------------------------------------------
def test_models_are_the_configured_apps_in_order() -> None:
    settings = {"workflow_app": {"app_id": "w"}, "chat_app": {"app_id": "c"}}
    models = oc.configured_models(settings, EndpointSettings.parse(settings))
    assert [(m.id, m.kind, m.setting, m.app_id) for m in models] == [
        ("chat", "chat", "chat_app", "c"),
        ("workflow", "workflow", "workflow_app", "w"),
    ]


def test_owner_chosen_model_names() -> None:
    settings = {**APPS, oc.MODEL_NAMES: " chat = duck-bot ,workflow=org/summariser:v2"}
    models = oc.configured_models(settings, EndpointSettings.parse(settings))
    assert [m.id for m in models] == ["duck-bot", "org/summariser:v2", "completion"]


@pytest.mark.parametrize("raw", ["duck", "robot=x", "chat=", "chat=a b", "chat=x, workflow=x", "chat=" + "x" * 65])
def test_bad_model_names_name_the_setting(raw: str) -> None:
    with pytest.raises(AppNotConfigured) as raised:
        oc.model_names(raw)
    assert oc.MODEL_NAMES in raised.value.message
    assert raw not in raised.value.message or raw in ("chat=", "chat=x, workflow=x")


def test_optional_text_settings_that_are_not_text_name_themselves() -> None:
    """Read by the kit's `settings.text_setting`: empty is "not set", a value that is not
    text is the owner's mistake to fix (setting_invalid), not silently ignored."""
    names = {**APPS, oc.MODEL_NAMES: 5}
    with pytest.raises(AppNotConfigured) as raised:
        oc.configured_models(names, EndpointSettings.parse(names))
    assert (raised.value.code, oc.MODEL_NAMES in raised.value.message) == ("setting_invalid", True)
    workflow = oc.Model("workflow", "workflow", "workflow_app", "w")
    with pytest.raises(AppNotConfigured) as raised:
        oc.text_input(None, workflow, {**APPS, oc.TEXT_INPUT: 5})  # type: ignore[arg-type]
    assert (raised.value.code, oc.TEXT_INPUT in raised.value.message) == ("setting_invalid", True)


def test_unknown_model_lists_the_models() -> None:
    models = [oc.Model("chat", "chat", "chat_app", "c")]
    with pytest.raises(oc.ModelNotFound) as raised:
        oc.find_model(models, "gpt-4o")
    assert raised.value.status == 404
    assert raised.value.message == "The model `gpt-4o` does not exist on this endpoint; its models are: `chat`."
    assert oc.error_body(raised.value)["error"] == {
        "message": raised.value.message,
        "type": "invalid_request_error",
        "code": "model_not_found",
        "param": "model",
    }


def test_model_list_shape() -> None:
    listed = oc.model_list([oc.Model("chat", "chat", "chat_app", "c")])
    assert listed == {"object": "list", "data": [{"id": "chat", "object": "model", "created": 0, "owned_by": "dify"}]}


# -- the request -------------------------------------------------------------------------
def test_a_minimal_request() -> None:
    parsed = chat({"model": "chat", "messages": [user("hi")], "temperature": 0.2, "tools": []})
    assert (parsed.model, parsed.stream, parsed.include_usage, parsed.inputs) == ("chat", False, False, {})
    assert chat(
        {"model": "m", "messages": [user("x")], "stream": True, "stream_options": {"include_usage": True}}
    ).include_usage


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"messages": [user("x")]}, "model", "Field required"),
        ({"model": "m"}, "messages", "Field required"),
        ({"model": "m", "messages": []}, "messages", "at least 1 item"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'system'"),
        (
            {"model": "m", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
            "a list of content parts",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0].text",
            "required",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
            "messages[0].content[0]",
            "tag",
        ),
        ({"model": "m", "messages": [user("x")], "n": 2}, "n", "n: 1"),
        ({"model": "m", "messages": [user("x"), assistant("y")]}, "messages[1].role", "the user's"),
        ({"model": "m", "messages": [user("  ")]}, "messages[0].content", "no text"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}, user("y")]}, "messages[0].role", "Tool"),
        ({"model": "m", "messages": [user("x")], "inputs": [1]}, "inputs", "dictionary"),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, Any], param: str, words: str) -> None:
    with pytest.raises(oc.InvalidChatRequest) as raised:
        chat(body)
    assert raised.value.param == param
    assert raised.value.status == 400
    assert words in raised.value.message


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def test_images_come_as_data_urls() -> None:
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    parsed = chat({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "see"}, part]}]})
    (image,) = oc.images_of(parsed.messages[0], 0)
    assert (image.filename, image.mimetype) == ("image-1.png", "image/png")
    assert image.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "url", ["https://x.example/a.png", "data:image/png;base64,%%%", "data:text/plain;base64,AAAA", "file:///etc/passwd"]
)
def test_other_image_urls_are_refused_clearly(url: str) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    with pytest.raises(oc.InvalidChatRequest) as raised:
        chat({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]})
    assert raised.value.code == "invalid_image_url"
    assert raised.value.param == "messages[0].content[1].image_url.url"


def test_too_many_messages_or_too_much_text_is_413() -> None:
    with pytest.raises(oc.RequestTooLarge):
        chat({"model": "m", "messages": [user("x")] * (oc.MAX_MESSAGES + 1)})
    chat({"model": "m", "messages": [user("x")] * oc.MAX_MESSAGES})
    with pytest.raises(oc.RequestTooLarge):
        chat({"model": "m", "messages": [user("x" * (oc.MAX_TEXT_CHARS + 1))]})


def test_text_parts_join() -> None:
    parsed = chat(
        {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
        }
    )
    assert oc.text_of(parsed.messages[0]) == "a\nb"


# -- conversations -----------------------------------------------------------------------
def test_a_first_message_has_no_history_to_continue() -> None:
    parsed = chat({"model": "m", "messages": [{"role": "system", "content": "Be brief"}, user("hi")]})
    prompt = oc.plan_prompt("app", parsed.messages)
    assert prompt.history_before is None
    assert prompt.query == "hi"


def test_the_history_key_is_what_the_last_turn_remembered() -> None:
    first = chat({"model": "m", "messages": [user("hi")]})
    turns = [*oc.plan_prompt("app", first.messages).turns, ("assistant", "hello")]
    follow = chat({"model": "m", "messages": [user("hi"), assistant(" hello\n"), user("again")]})
    assert oc.plan_prompt("app", follow.messages).history_before == oc.history_hash("app", turns)
    assert oc.plan_prompt("other-app", follow.messages).history_before != oc.history_hash("app", turns)
    edited = chat({"model": "m", "messages": [user("hi!"), assistant("hello"), user("again")]})
    assert oc.plan_prompt("app", edited.messages).history_before != oc.history_hash("app", turns)


def test_history_hash_is_unambiguous() -> None:
    assert oc.history_hash("a", [("user", "x\nassistant: y")]) != oc.history_hash(
        "a", [("user", "x"), ("assistant", "y")]
    )


def test_context_keeps_the_most_recent_turns() -> None:
    assert oc.render_context([], "q") == "q"
    text = oc.render_context([("user", "old " * 20_000), ("assistant", "recent")], "q")
    assert text == "The conversation so far:\nassistant: recent\n\nThe user's new message:\nq"


def test_index_remembers_and_bounds() -> None:
    storage = FakeStorage()
    index = oc.ConversationIndex(storage)
    conversation = "3f2b1f4e-1d7a-4d55-9a55-0d6f5c8a3c11"
    index.remember("ab" * 32, conversation)
    assert index.lookup("ab" * 32) == conversation
    assert index.lookup("cd" * 32) is None
    clash = "ab" * 4 + "00" * 28  # same slot (the first 8 hex digits), another history
    assert index.lookup(clash) is None
    index.remember(clash, conversation)
    assert index.lookup("ab" * 32) is None  # replaced: the slot holds one history
    assert set(storage.values) == {f"openai/conversations/{int('abababab', 16) % 4096}"}


def test_index_never_trusts_what_it_reads_and_never_raises() -> None:
    storage = FakeStorage()
    index = oc.ConversationIndex(storage)
    key = index._key("ab" * 32)
    for value in [b"not json", b'{"hash": "' + b"ab" * 32 + b'", "conversation_id": "../../x"}', b"[]"]:
        storage.values[key] = value
        assert index.lookup("ab" * 32) is None
    storage.error = "storage down"
    assert index.lookup("ab" * 32) is None
    index.remember("ab" * 32, "3f2b1f4e-1d7a-4d55-9a55-0d6f5c8a3c11")  # logged, not raised


# -- events -------------------------------------------------------------------------------
def pieces(events: list[dict[str, Any]], kind: oc.AppKind = "chat") -> tuple[list[str], oc.Outcome]:
    outcome = oc.Outcome()
    return list(oc.app_pieces(iter(events), kind, outcome)), outcome


def test_chat_events_become_deltas_and_usage() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "total_price": "0.0"}
    got, outcome = pieces(
        [
            {"event": "message", "answer": "Hel", "conversation_id": "conv-1"},
            {"event": "agent_thought", "thought": "hmm"},
            {"event": "agent_message", "answer": "lo", "conversation_id": "conv-1"},
            {"event": "message", "answer": ""},
            {"event": "message_end", "metadata": {"usage": usage}, "conversation_id": "conv-1"},
        ]
    )
    assert got == ["Hel", "lo"]
    assert outcome.conversation_id == "conv-1"
    assert outcome.usage == oc.Usage(3, 2, 5)


def test_an_error_event_fails_the_run_without_difys_words() -> None:
    with pytest.raises(AppFailed) as raised:
        pieces([{"event": "message", "answer": "a"}, {"event": "error", "status": 400, "message": "secret host"}])
    assert raised.value.code == "app_stream_failed"
    assert "secret" not in raised.value.message


def test_workflow_text_chunks_and_usage() -> None:
    got, outcome = pieces(
        [
            {"event": "workflow_started", "data": {}},
            {"event": "text_chunk", "data": {"text": "A"}},
            {"event": "text_chunk", "data": {"text": "B"}},
            {
                "event": "workflow_finished",
                "data": {"status": "succeeded", "outputs": {"text": "AB"}, "total_tokens": 7},
            },
        ],
        "workflow",
    )
    assert got == ["A", "B"]  # the outputs are not repeated
    assert outcome.usage == oc.Usage(0, 7, 7)


@pytest.mark.parametrize(
    ("outputs", "text"),
    [({"text": "t"}, "t"), ({"answer": "a"}, "a"), ({"a": "x", "b": 2}, '{"a": "x", "b": 2}'), ({}, ""), (None, "")],
)
def test_a_silent_workflow_answers_its_outputs(outputs: object, text: str) -> None:
    finished = {"event": "workflow_finished", "data": {"status": "succeeded", "outputs": outputs}}
    assert pieces([finished], "workflow")[0] == ([text] if text else [])


@pytest.mark.parametrize("status", ["failed", "stopped", None])
def test_a_failed_workflow_is_an_error(status: str | None) -> None:
    with pytest.raises(AppFailed) as raised:
        pieces([{"event": "workflow_finished", "data": {"status": status}}], "workflow")
    assert raised.value.code == "workflow_failed"
    assert raised.value.status == 502


# -- answers ------------------------------------------------------------------------------
def body_lines(response: Any) -> list[str]:
    return b"".join(response.iter_encoded()).decode().split("\n\n")


def test_stream_frames_batches_and_ends() -> None:
    reply = oc.Reply("chat", id="chatcmpl-1", created=5)
    outcome = oc.Outcome(usage=oc.Usage(1, 2, 3))
    done: list[str] = []
    response = oc.stream_response(iter(["a", "b"]), reply, outcome, 30, include_usage=True, on_complete=done.append)
    frames = [f for f in body_lines(response) if f]
    datas = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert frames[-1] == "data: [DONE]"
    assert datas[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(d["choices"][0]["delta"].get("content", "") for d in datas if d["choices"]) == "ab"
    assert datas[-2]["choices"][0]["finish_reason"] == "stop"
    assert datas[-1] == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 5,
        "model": "chat",
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    assert done == ["ab"]


def test_a_failure_mid_stream_is_an_error_line_and_nothing_is_remembered() -> None:
    def failing() -> Any:
        yield "a"
        raise AppFailed("The app failed while answering.", code="app_stream_failed")

    done: list[str] = []
    response = oc.stream_response(
        failing(), oc.Reply("chat"), oc.Outcome(), 30, include_usage=False, on_complete=done.append
    )
    frames = [f for f in body_lines(response) if f]
    assert json.loads(frames[-1].removeprefix("data: ")) == {
        "error": {
            "message": "The app failed while answering.",
            "type": "server_error",
            "code": "app_stream_failed",
            "param": None,
        }
    }
    assert "[DONE]" not in "".join(frames)
    assert done == []


def test_a_failure_before_anything_is_raised_not_streamed() -> None:
    def failing() -> Any:
        raise AppFailed("no", code="app_failed")
        yield  # a generator

    with pytest.raises(AppFailed):
        oc.stream_response(failing(), oc.Reply("chat"), oc.Outcome(), 30, include_usage=False, on_complete=print)


def test_error_types_follow_openai() -> None:
    from provider.errors import Unauthorized

    assert oc.error_type(Unauthorized("x")) == "authentication_error"
    assert oc.error_type(oc.RequestTooLarge("x")) == "invalid_request_error"
    assert oc.error_type(AppFailed("x")) == "server_error"
    response = oc.error_response(Unauthorized("x", code="invalid_api_key"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_moderation_replaces_a_non_streamed_answer() -> None:
    events = [{"event": "message", "answer": "bad words"}, {"event": "message_replace", "answer": "[removed]"}]
    outcome = oc.Outcome()
    response, text = oc.completion_response(oc.app_pieces(iter(events), "chat", outcome), oc.Reply("chat"), outcome)
    assert text == "[removed]"
    assert json.loads(b"".join(response.iter_encoded()))["choices"][0]["message"]["content"] == "[removed]"


# -- any body: a request or a 4xx, never anything else ----------------------------------------
_TEXT = st.text(max_size=20)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=12,
)
_PART = st.fixed_dictionaries(
    {}, optional={"type": st.sampled_from(["text", "image_url", "x"]) | _JSON, "text": _JSON, "image_url": _JSON}
)
_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]) | _JSON,
        "content": _TEXT | st.lists(_PART, max_size=3) | _JSON,
    },
)
_BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": _TEXT | _JSON,
        "messages": st.lists(_MESSAGE, max_size=4) | _JSON,
        "stream": _JSON,
        "stream_options": _JSON,
        "n": _JSON,
        "inputs": _JSON,
        "user": _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=_BODY | _JSON)
def test_any_body_is_a_request_or_a_4xx(body: object) -> None:
    r = request("POST", "/v1/chat/completions", data=json.dumps(body), content_type="application/json")
    refused: EndpointError | None = None
    try:
        parsed = oc.parse_chat_request(r)
    except EndpointError as error:
        refused = error
    if refused is not None:
        assert 400 <= refused.status < 500
        assert oc.error_body(refused)["error"]["message"]
        return
    assert parsed.messages[-1].role == "user"
    assert oc.text_of(parsed.messages[-1]).strip()
    oc.plan_prompt("app", parsed.messages)  # never raises on what the parser let through
