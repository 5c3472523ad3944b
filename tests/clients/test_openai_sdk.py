"""The real `openai` Python SDK against the gallery's /v1 routes, in both install methods."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest

from dify_plugin_devkit.testing import RunningDevkit
from tests.clients.conftest import KEY, MANY, MANY_ANSWER, base_url

WORKFLOW_ANSWER = "Summary of ducks: ducks are waterfowl that stream answers one word at a time."


def client(devkit: RunningDevkit, hook: str = "open", key: str = "any-key", **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url(devkit, hook), api_key=key, max_retries=0, timeout=60, **kwargs)  # type: ignore[arg-type]


def ask(
    sdk: openai.OpenAI, model: str, text: str, *, stream: bool, history: list | None = None, content: list | None = None
) -> str:
    messages = [*(history or []), {"role": "user", "content": content or text}]
    if not stream:
        result = sdk.chat.completions.create(model=model, messages=messages)
        assert result.object == "chat.completion"
        return result.choices[0].message.content or ""
    chunks = list(sdk.chat.completions.create(model=model, messages=messages, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# -- models --------------------------------------------------------------------------
def test_models_lists_one_model_per_configured_app(v1: RunningDevkit) -> None:
    assert [m.id for m in client(v1).models.list()] == ["chat", "workflow", "completion"]
    assert [m.id for m in client(v1, "named").models.list()] == ["duck-bot", "team/summariser"]
    assert list(client(v1, "empty").models.list()) == []


def test_one_model_by_id(v1: RunningDevkit) -> None:
    model = client(v1, "named").models.retrieve("team/summariser")
    assert (model.id, model.object, model.owned_by) == ("team/summariser", "model", "dify")


def test_unknown_model_is_not_found(v1: RunningDevkit) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client(v1).models.retrieve("gpt-4o")
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as raised:
        client(v1).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.code == "model_not_found"
    assert "`chat`, `workflow`, `completion`" in raised.value.message


# -- chat-type apps --------------------------------------------------------------------
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
@pytest.mark.parametrize(
    ("hook", "expected"),
    [("open", "Turn 1: Hello duck"), ("chatflow", None), ("agent", None)],
    ids=["chat", "chatflow", "agent"],
)
def test_chat_type_apps_answer(v1: RunningDevkit, hook: str, expected: str | None, stream: bool) -> None:
    text = ask(client(v1, hook), "chat", "Hello duck", stream=stream)
    assert text
    if expected is not None:
        assert text == expected


def test_the_same_answer_streamed_and_not(v1: RunningDevkit) -> None:
    sdk = client(v1, "chatflow")
    assert ask(sdk, "chat", "same?", stream=True) == ask(sdk, "chat", "same?", stream=False)


def test_stream_chunks_are_openais(v1: RunningDevkit) -> None:
    chunks = list(
        client(v1).chat.completions.create(model="chat", messages=[{"role": "user", "content": "shape"}], stream=True)
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].id.startswith("chatcmpl-")
    assert {c.model for c in chunks} == {"chat"}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)


def test_include_usage_adds_difys_usage(v1: RunningDevkit) -> None:
    chunks = list(
        client(v1).chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "count my words"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == 3  # the devkit counts the query's words
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens


def test_blocking_answer_is_json_with_usage(v1: RunningDevkit) -> None:
    raw = client(v1).chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "two words"}]
    )
    assert raw.headers["content-type"] == "application/json; charset=utf-8"
    result = raw.parse()
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.prompt_tokens == 2


def test_three_turns_are_one_dify_conversation(v1: RunningDevkit) -> None:
    """Streamed and blocking turns alternate; the devkit's app-call log shows one
    conversation, and the echo app counts its turns."""
    sdk = client(v1)
    opener = "Three turns, please"
    history: list = []
    answers = []
    for number, (text, stream) in enumerate([(opener, True), ("second", False), ("third", True)], start=1):
        before = len(v1.app_call_log())
        answer = ask(sdk, "chat", text, stream=stream, history=history)
        answers.append(answer)
        assert answer == f"Turn {number}: {text}"
        history += [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
        assert len(v1.app_call_log()) == before + 1
    calls = [c for c in v1.app_call_log() if c["query"] in (opener, "second", "third")][-3:]
    assert [c["query"] for c in calls] == [opener, "second", "third"]
    conversations = {c["used_conversation_id"] for c in calls}
    assert len(conversations) == 1
    assert None not in conversations
    assert calls[0]["conversation_id"] is None  # the first turn asked for none


def test_a_first_message_never_continues(v1: RunningDevkit) -> None:
    sdk = client(v1)
    first = ask(sdk, "chat", "Same opening words", stream=False)
    ask(
        sdk,
        "chat",
        "next",
        stream=False,
        history=[{"role": "user", "content": "Same opening words"}, {"role": "assistant", "content": first}],
    )
    # a second chat opening with the same words is a new conversation: turn 1 again
    assert ask(sdk, "chat", "Same opening words", stream=True) == "Turn 1: Same opening words"


def test_an_unknown_history_starts_a_conversation_with_it_as_context(v1: RunningDevkit) -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is a duck?"},
        {"role": "assistant", "content": "A bird this plugin never said."},
    ]
    answer = ask(client(v1), "chat", "And a goose?", stream=False, history=history)
    assert answer.startswith("Turn 1: The conversation so far:\nsystem: Be brief.\nuser: What is a duck?\n")
    assert answer.endswith("assistant: A bird this plugin never said.\n\nThe user's new message:\nAnd a goose?")


# -- workflows and completion apps --------------------------------------------------------
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_workflow_answers_with_its_text(v1: RunningDevkit, stream: bool) -> None:
    assert ask(client(v1), "workflow", "ducks", stream=stream) == WORKFLOW_ANSWER


def test_workflow_text_input_from_the_form_or_the_setting(v1: RunningDevkit) -> None:
    # the first *required* text input takes the message; others come as `inputs`
    text = client(v1, "form").chat.completions.create(
        model="workflow",
        messages=[{"role": "user", "content": "geese"}],
        extra_body={"inputs": {"style": "A poetic"}},
    )
    assert text.choices[0].message.content == "A poetic take on geese"
    text = client(v1, "form-named").chat.completions.create(
        model="workflow", messages=[{"role": "user", "content": "A terse"}], extra_body={"inputs": {"subject": "swans"}}
    )
    assert text.choices[0].message.content == "A terse take on swans"


def test_completion_app_answers(v1: RunningDevkit) -> None:
    # the devkit's demo completion app runs (Dify 1.13.2 refuses: see test_failures)
    assert ask(client(v1), "completion", "Ada", stream=True).startswith("Dear Ada")


# -- failures -------------------------------------------------------------------------
def test_wrong_key_is_an_authentication_error(v1: RunningDevkit) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        client(v1, "locked", key="wrong").models.list()
    assert raised.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client(v1, "locked", key="wrong").chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "x"}]
        )
    assert [m.id for m in client(v1, "locked", key=KEY).models.list()] == ["chat"]


def test_app_failing_mid_stream_is_an_api_error(v1: RunningDevkit) -> None:
    received: list[str] = []
    stream = client(v1, "failing").chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "go"}], stream=True
    )
    with pytest.raises(openai.APIError) as raised:
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    assert raised.value.code == "app_stream_failed"
    assert "".join(received) == "one two"


def test_workflow_run_failing_is_an_error(v1: RunningDevkit) -> None:
    with pytest.raises(openai.APIError) as raised:
        list(
            client(v1, "failing").chat.completions.create(
                model="workflow", messages=[{"role": "user", "content": "go"}], stream=True
            )
        )
    assert raised.value.code == "workflow_failed"
    with pytest.raises(openai.InternalServerError) as failed:
        client(v1, "failing").chat.completions.create(model="workflow", messages=[{"role": "user", "content": "go"}])
    assert failed.value.status_code == 502


def test_app_refusing_at_once_is_an_http_error(v1: RunningDevkit) -> None:
    """A call that fails before its first event: a status, not a 200 stream."""
    with pytest.raises(openai.InternalServerError) as raised:
        client(v1, "failing-early").chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "go"}], stream=True
        )
    assert raised.value.status_code == 502
    assert raised.value.code == "app_stream_failed"


def test_bad_request_names_the_field(v1: RunningDevkit) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client(v1).chat.completions.create(model="chat", messages=[{"role": "robot", "content": "x"}])  # type: ignore[misc, list-item]
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["param"] == "messages[0].role"


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_an_image_goes_to_the_apps_image_input(v1: RunningDevkit, stream: bool) -> None:
    before = len(v1.files())
    text = ask(
        client(v1, "vision"),
        "chat",
        "",
        stream=stream,
        history=None,
        content=[{"type": "text", "text": "what?"}, IMAGE],
    )
    assert text == f"I see image-1.png (image, {len(PNG)} bytes)"
    assert len(v1.files()) == before + 1  # uploaded with session.file.upload


def test_images_for_an_app_without_image_input_get_a_clear_400(v1: RunningDevkit) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client(v1).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": [{"type": "text", "text": "see"}, IMAGE]}]
        )
    assert raised.value.code == "image_not_accepted"
    with pytest.raises(openai.BadRequestError) as raised:
        client(v1, "vision").chat.completions.create(
            model="chat",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image_url", "image_url": {"url": "https://x.example/a.png"}},
                    ],
                }
            ],
        )
    assert raised.value.code == "invalid_image_url"


def test_text_parts_are_accepted(v1: RunningDevkit) -> None:
    result = client(v1).chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": [{"type": "text", "text": "in"}, {"type": "text", "text": "parts"}]}],
    )
    assert result.choices[0].message.content == "Turn 1: in\nparts"


# -- streams --------------------------------------------------------------------------
def test_ten_thousand_deltas_arrive_whole(v1: RunningDevkit) -> None:
    text = ask(client(v1, "many"), "chat", "long", stream=True)
    assert text == MANY_ANSWER
    assert len(text.split(" ")) == MANY


def test_silence_is_filled_with_keep_alive_comments(v1: RunningDevkit) -> None:
    lines: list[str] = []
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with (
        httpx.Client(timeout=30) as http,
        http.stream("POST", v1.url("silent", "/v1/chat/completions"), json=body) as response,
    ):
        for line in response.iter_lines():
            lines.append(line)
            if line == ": keep-alive":
                break
    assert lines[0].startswith("data: ")
    assert '"role":"assistant"' in lines[0]
    assert lines[-1] == ": keep-alive"
