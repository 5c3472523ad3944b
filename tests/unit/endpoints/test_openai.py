"""The /v1 endpoints (OpenAIModelsEndpoint, OpenAIChatEndpoint) in-process with a fake session."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug import Response

from endpoints.openai_chat import OpenAIChatEndpoint
from endpoints.openai_models import OpenAIModelsEndpoint
from tests.unit.fakes import FakeAppInterface, FakeFetchApp, FakeFileUpload, FakeStorage, fake_session, request

SETTINGS: dict[str, Any] = {"chat_app": {"app_id": "chat-app"}, "workflow_app": {"app_id": "wf-app"}}
KEYED = {**SETTINGS, "api_key": "s3cret"}
CONVERSATION = "3f2b1f4e-1d7a-4d55-9a55-0d6f5c8a3c11"
UNKNOWN_CONVERSATION = (
    "invoke app failed: request failed with status code: 400 and respond with: "
    '{"code": "invalid_param", "message": "", "status": 400}'
)


def body(response: Response) -> str:
    return b"".join(response.iter_encoded()).decode()


def error_of(response: Response) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(body(response))["error"]
    return payload


def models(path: str, settings: dict[str, Any], values: dict[str, Any] | None = None, **headers: str) -> Response:
    return OpenAIModelsEndpoint(fake_session())._invoke(request("GET", path, headers=headers), values or {}, settings)


def echo(answer: str = "Hi", conversation: str = CONVERSATION) -> FakeAppInterface:
    return FakeAppInterface(
        events=[
            {"event": "message", "answer": answer, "conversation_id": conversation},
            {"event": "message_end", "metadata": {"usage": {"prompt_tokens": 1, "completion_tokens": 1}}},
        ]
    )


def completions(payload: dict[str, Any], settings: dict[str, Any] = SETTINGS, **session: Any) -> Response:
    r = request("POST", "/v1/chat/completions", json=payload, headers=session.pop("headers", {}))
    return OpenAIChatEndpoint(fake_session(**session))._invoke(r, {}, settings)


def test_models_and_one_model() -> None:
    listed = json.loads(body(models("/v1/models", SETTINGS)))
    assert [m["id"] for m in listed["data"]] == ["chat", "workflow"]
    one = models("/v1/models/workflow", SETTINGS, {"model_id": "workflow"})
    assert json.loads(body(one))["id"] == "workflow"
    missing = models("/v1/models/completion", SETTINGS, {"model_id": "completion"})
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "model_not_found"


def test_models_need_the_key() -> None:
    response = models("/v1/models", KEYED)
    assert response.status_code == 401
    assert error_of(response) == {
        "message": "This endpoint needs an API key: send `Authorization: Bearer <key>`.",
        "type": "authentication_error",
        "code": "missing_api_key",
        "param": None,
    }
    assert models("/v1/models", KEYED, Authorization="Bearer s3cret").status_code == 200


def test_a_broken_setting_is_a_503_in_openais_shape() -> None:
    response = models("/v1/models", {**SETTINGS, "openai_model_names": "nonsense"})
    assert response.status_code == 503
    assert error_of(response)["type"] == "server_error"
    assert "openai_model_names" in error_of(response)["message"]


def test_the_app_comes_from_the_settings_only() -> None:
    app = echo()
    payload = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "app_id": "evil", "user": "ada"}
    response = completions(payload, chat=app)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    result = json.loads(body(response))
    assert result["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}
    assert result["usage"] == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    assert app.calls == [
        {
            "app_id": "chat-app",
            "query": "hi",
            "inputs": {},
            "response_mode": "streaming",  # agent apps cannot answer blocking: always streamed, then collected
            "conversation_id": None,
            "user": "ada",
        }
    ]


def test_chat_needs_the_key_before_anything_runs() -> None:
    app = echo()
    response = completions({"model": "chat", "messages": []}, KEYED, chat=app, headers={"Authorization": "Bearer no"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_api_key"
    assert app.calls == []


def test_three_turns_continue_one_conversation_through_storage() -> None:
    storage = FakeStorage()
    history: list[dict[str, str]] = []
    asked: list[str | None] = []
    for number, text in enumerate(["one", "two", "three"], start=1):
        app = echo(f"answer {number}")
        history.append({"role": "user", "content": text})
        response = completions({"model": "chat", "messages": history, "stream": number == 2}, chat=app, storage=storage)
        assert response.status_code == 200
        body(response)
        asked.append(app.calls[0]["conversation_id"])
        assert app.calls[0]["query"] == text  # a continued conversation gets only the new message
        history.append({"role": "assistant", "content": f"answer {number}"})
    assert asked == [None, CONVERSATION, CONVERSATION]


def test_a_conversation_dify_forgot_starts_anew_with_context() -> None:
    storage = FakeStorage()
    body(
        completions(
            {"model": "chat", "messages": [{"role": "user", "content": "one"}]}, chat=echo("a1"), storage=storage
        )
    )
    gone = FakeAppInterface(error=UNKNOWN_CONVERSATION, raise_on_call=True)
    history = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "two"},
    ]

    fresh = echo("fresh", conversation="9a0c6a8e-5c1b-4f3e-8a47-2f1d0e6b7c55")

    class Either(FakeAppInterface):
        def invoke(self, **kwargs: Any) -> Any:
            return (gone if kwargs["conversation_id"] else fresh).invoke(**kwargs)

    response = completions({"model": "chat", "messages": history}, chat=Either(), storage=storage)
    assert json.loads(body(response))["choices"][0]["message"]["content"] == "fresh"
    assert gone.calls[0]["conversation_id"] == CONVERSATION
    assert fresh.calls[0]["conversation_id"] is None
    assert fresh.calls[0]["query"].startswith("The conversation so far:\nuser: one\nassistant: a1\n")


def test_workflow_message_fills_the_first_required_text_input() -> None:
    form = {
        "user_input_form": [
            {"select": {"variable": "tone", "required": True, "options": ["a"]}},
            {"text-input": {"variable": "title", "required": False}},
            {"paragraph": {"variable": "body", "required": True}},
        ]
    }
    workflow = FakeAppInterface(
        events=[{"event": "workflow_finished", "data": {"status": "succeeded", "outputs": {"text": "done"}}}]
    )
    payload = {"model": "workflow", "messages": [{"role": "user", "content": "the text"}], "inputs": {"tone": "a"}}
    response = completions(payload, workflow=workflow, fetch_app=FakeFetchApp(form))
    assert json.loads(body(response))["choices"][0]["message"]["content"] == "done"
    assert workflow.calls[0]["inputs"] == {"tone": "a", "body": "the text"}
    named = FakeAppInterface(events=workflow.events)
    fetch = FakeFetchApp(form)
    completions(payload, {**SETTINGS, "openai_text_input": "title"}, workflow=named, fetch_app=fetch)
    assert named.calls[0]["inputs"] == {"tone": "a", "title": "the text"}
    assert fetch.calls == []  # the setting names it: no need to ask Dify


def test_a_workflow_without_text_input_names_the_setting() -> None:
    response = completions(
        {"model": "workflow", "messages": [{"role": "user", "content": "x"}]},
        fetch_app=FakeFetchApp({"user_input_form": [{"number": {"variable": "n"}}]}),
    )
    assert response.status_code == 503
    assert "openai_text_input" in error_of(response)["message"]


def test_an_app_refusing_at_once_is_a_status_even_when_streaming() -> None:
    app = FakeAppInterface(error="invocation exited without response", raise_on_call=True)
    response = completions({"model": "chat", "messages": [{"role": "user", "content": "x"}], "stream": True}, chat=app)
    assert response.status_code == 504
    assert error_of(response)["code"] == "app_timeout"


def test_cors_headers_for_an_allowed_origin() -> None:
    settings = {**SETTINGS, "allowed_origins": "https://app.example"}
    r = request("GET", "/v1/models", headers={"Origin": "https://app.example"})
    response = OpenAIModelsEndpoint(fake_session())._invoke(r, {}, settings)
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_body_that_is_not_json_is_a_400(content_type: str | None) -> None:
    r = request("POST", "/v1/chat/completions", data=b"{not json", content_type=content_type)
    response = OpenAIChatEndpoint(fake_session())._invoke(r, {}, SETTINGS)
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


PNG_URL = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
IMAGE_FORM = {
    "user_input_form": [
        {"text-input": {"variable": "query", "required": True}},
        {"file": {"variable": "photo", "required": False, "allowed_file_types": ["image"]}},
    ]
}


def with_image(text: str = "what is this?") -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": PNG_URL}}],
        }
    ]


@pytest.mark.parametrize("model", ["chat", "workflow"])
def test_images_are_uploaded_into_the_apps_image_input(model: str) -> None:
    app = (
        echo()
        if model == "chat"
        else FakeAppInterface(
            events=[
                {"event": "text_chunk", "data": {"text": "a duck"}},
                {"event": "workflow_finished", "data": {"status": "succeeded"}},
            ]
        )
    )
    uploads = FakeFileUpload()
    response = completions(
        {"model": model, "messages": with_image()}, **{model: app}, files=uploads, fetch_app=FakeFetchApp(IMAGE_FORM)
    )
    assert response.status_code == 200, body(response)
    assert [(name, mimetype) for name, _, mimetype in uploads.uploads] == [("image-1.png", "image/png")]
    photo = app.calls[0]["inputs"]["photo"]
    assert (photo["transfer_method"], photo["type"]) == ("tool_file", "image")


def test_images_for_an_app_without_an_image_input_are_a_clear_400() -> None:
    app, uploads = echo(), FakeFileUpload()
    form = {"user_input_form": [{"file": {"variable": "doc", "allowed_file_types": ["document"]}}]}
    response = completions(
        {"model": "chat", "messages": with_image()}, chat=app, files=uploads, fetch_app=FakeFetchApp(form)
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "image_not_accepted"
    assert uploads.uploads == []
    assert app.calls == []


def test_an_image_over_the_file_limit_is_413() -> None:
    response = completions(
        {"model": "chat", "messages": with_image()},
        {**SETTINGS, "max_file_mb": "0.00001"},
        chat=echo(),
        fetch_app=FakeFetchApp(IMAGE_FORM),
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "file_too_large"


def test_a_chat_app_gets_the_requests_inputs() -> None:
    app = echo()
    payload = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "inputs": {"persona": "pirate"}}
    assert completions(payload, chat=app).status_code == 200
    assert app.calls[0]["inputs"] == {"persona": "pirate"}
