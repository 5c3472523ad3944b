"""The exact status, code and message every daemon error text becomes (`AppCall.failure`),
and the exact texts of the key refusals: what a client reads must not drift silently.

Golden values on purpose: these are the messages docs/reference.md's errors table promises.
"""

from __future__ import annotations

import json
import logging

import pytest

from provider import apps, auth
from provider.errors import EndpointError, Unauthorized
from tests.unit.fakes import fake_session, request

CONVERSATION = "3f2b0f3e-9a4c-4c5e-8d3b-2a1b0c9d8e7f"


def rejected(status: int, body: object) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return f"invoke app failed: request failed with status code: {status} and respond with: {text}"


def call(kind: apps.AppKind = "workflow", conversation_id: str | None = None) -> apps.AppCall:
    return apps.AppCall(
        fake_session(),
        kind=kind,
        setting=f"{kind}_app",
        app_id="app-1",
        conversation_id=conversation_id,
    )


@pytest.mark.parametrize(
    ("text", "conversation_id", "expected"),
    [
        (
            rejected(404, {"code": "not_found", "message": "app not found"}),
            None,
            (
                503,
                "app_not_found",
                "The app set in `workflow_app` was not found in this workspace; choose another app "
                "in the endpoint's settings.",
            ),
        ),
        (
            rejected(400, {"message": "missing query"}),
            None,
            (
                503,
                "app_wrong_type",
                "The app set in `workflow_app` is a chat app and needs a question; choose a "
                "workflow app in the endpoint's settings.",
            ),
        ),
        (
            rejected(400, {"code": "invalid_param", "message": ""}),
            CONVERSATION,
            (
                404,
                "conversation_not_found",
                "This conversation does not exist (or belongs to another app): leave conversation_id "
                "empty to start a new one.",
            ),
        ),
        (
            rejected(404, {"code": "not_found", "message": "Conversation Not Exists."}),
            CONVERSATION,
            (404, "conversation_not_found", None),
        ),
        # without a conversation_id, the same answers are not about a conversation
        (rejected(400, {"code": "invalid_param", "message": ""}), None, (502, "app_failed", None)),
        # an empty message with another code, or invalid_param with a message: not a lost conversation
        (rejected(400, {"code": "bad_request", "message": ""}), CONVERSATION, (502, "app_failed", None)),
        (
            rejected(400, {"code": "invalid_param", "message": "topic is required in input form"}),
            CONVERSATION,
            (400, "invalid_inputs", "The app rejected the request: topic is required in input form"),
        ),
        # a 404 about something else than a conversation, or the inputs: not the caller's to fix
        (rejected(404, {"code": "not_found", "message": "file gone"}), CONVERSATION, (502, "app_failed", None)),
        # Dify 1.13.2's 400 for a chat app whose model is unreachable (real-dify-1.13.2/inner-api/
        # inner_basic_stream): the app's failure, and its text (a tenant id) stays in the log
        (
            rejected(
                400,
                {
                    "code": "invalid_param",
                    "message": "Failed to request plugin daemon, url: plugin/cfbc4a25-0a58/management/models",
                },
            ),
            None,
            (502, "app_failed", "The app could not be run."),
        ),
        (
            rejected(400, {"code": "invalid_param", "message": "File validation failed for file: a.exe"}),
            None,
            (400, "invalid_inputs", "The app rejected the request: File validation failed for file: a.exe"),
        ),
        (rejected(500, {"code": "internal", "message": ""}), CONVERSATION, (502, "app_failed", None)),
        (
            rejected(400, {"message": "topic is required in input form"}),
            None,
            (400, "invalid_inputs", "The app rejected the request: topic is required in input form"),
        ),
        (rejected(400, "not json"), None, (502, "app_failed", "The app could not be run.")),
        (rejected(400, ["a", "list"]), None, (502, "app_failed", "The app could not be run.")),
        (rejected(400, {"code": "x"}), None, (502, "app_failed", "The app could not be run.")),
        (rejected(500, {"message": "boom"}), None, (502, "app_failed", "The app could not be run.")),
        (
            "permission denied: app",
            None,
            (
                503,
                "app_permission_denied",
                "The plugin is not allowed to call apps (its manifest lacks the app permission).",
            ),
        ),
        ("invocation exited without response", None, (504, "app_timeout", "The app did not answer in time.")),
        ("read app failed: eof", None, (502, "app_stream_failed", "The app failed while answering.")),
        ("something else", None, (502, "app_failed", "The app could not be run.")),
    ],
)
def test_failure_translation(text: str, conversation_id: str | None, expected: tuple[int, str, str | None]) -> None:
    error = call(conversation_id=conversation_id).failure(Exception(text))
    status, code, message = expected
    assert (error.status, error.code) == (status, code)
    if message is not None:
        assert error.message == message
        assert str(error) == message


def test_failure_is_logged_with_kind_app_and_setting(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=apps.logger.name):
        call(kind="completion").failure(Exception("boom text"))
    assert "app call failed (completion app-1 via completion_app): boom text" in caplog.text


@pytest.mark.parametrize(
    ("key_field", "message"),
    [
        (None, "This endpoint needs an API key: send `Authorization: Bearer <key>`."),
        ("", "This endpoint needs an API key: send `Authorization: Bearer <key>` or add `key=<key>` to the URL."),
    ],
)
def test_missing_key_message(key_field: str | None, message: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        auth.require_api_key(request(), "s3cret", key_field=key_field)
    assert raised.value.code == "missing_api_key"
    assert raised.value.message == message


@pytest.mark.parametrize(
    "authorization",
    ["Bearer s3cret extra", "s3cret", "Basic s3cret"],
)
def test_malformed_authorization_is_not_the_key(authorization: str) -> None:
    with pytest.raises(EndpointError):
        auth.require_api_key(request(headers={"Authorization": authorization}), "s3cret")


def test_no_authorization_header_is_missing() -> None:
    assert auth.bearer_token(request()) is None
    assert auth.bearer_token(request(headers={"Authorization": "bearer abc"})) == "abc"
    assert auth.bearer_token(request(headers={"Authorization": "Bearer a b"})) == "a b"
