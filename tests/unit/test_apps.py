"""provider.apps: calling apps through the SDK session, and translating its failures.

The SDK raises a bare Exception carrying the daemon's text; each branch of the
translation is driven here with that text, as the daemon words it.
"""

from __future__ import annotations

import json
import logging
from types import MappingProxyType
from typing import Any

import pytest

from provider.apps import AppCall, AppKind
from provider.errors import AppFailed
from tests.unit.fakes import FakeAppInterface, fake_session

CONVERSATION = "6b1e5a43-8a3f-4a61-9d0e-1c2b3a4d5e6f"
DAEMON_WORDS = ("invoke app failed", "status code", "respond with", "permission denied", "exited", "read app")


def rejected(status: int, body: dict[str, Any] | str) -> str:
    """The daemon's text when Dify's API refused the call before running the app."""
    text = body if isinstance(body, str) else json.dumps(body)
    return f"invoke app failed: request failed with status code: {status} and respond with: {text}"


def call_for(kind: AppKind = "workflow", interface: FakeAppInterface | None = None, **fields: Any) -> AppCall:
    session = fake_session(**{kind: interface or FakeAppInterface()})
    return AppCall(session, kind=kind, setting=f"{kind}_app", app_id="app-1", **fields)


def failure_of(text: str, kind: AppKind = "workflow") -> AppFailed:
    with pytest.raises(AppFailed) as raised:
        call_for(kind, FakeAppInterface(error=text)).blocking()
    return raised.value


# -- what is sent --------------------------------------------------------------------------
def test_chat_call_sends_query_conversation_inputs_and_user() -> None:
    chat = FakeAppInterface(result={"answer": "hi"})
    inputs = MappingProxyType({"lang": "en"})  # any mapping; the SDK gets a plain dict
    call = call_for("chat", chat, inputs=inputs, query="hello", conversation_id=CONVERSATION, user="ada")
    assert call.blocking() == {"answer": "hi"}
    assert chat.calls == [
        {
            "app_id": "app-1",
            "query": "hello",
            "inputs": {"lang": "en"},
            "response_mode": "blocking",
            "conversation_id": CONVERSATION,
            "user": "ada",
        }
    ]
    assert type(chat.calls[0]["inputs"]) is dict  # the SDK serializes plain dicts


@pytest.mark.parametrize("kind", ["workflow", "completion"])
def test_workflow_and_completion_calls_send_inputs_and_user_only(kind: AppKind) -> None:
    interface = FakeAppInterface(events=[{"event": "message"}])
    assert list(call_for(kind, interface, inputs={"topic": "t"}, user="ada").stream()) == [{"event": "message"}]
    assert interface.calls == [
        {"app_id": "app-1", "inputs": {"topic": "t"}, "response_mode": "streaming", "user": "ada"}
    ]


def test_a_chat_call_without_a_query_sends_an_empty_one_for_dify_to_refuse() -> None:
    chat = FakeAppInterface()
    call_for("chat", chat).blocking()
    assert chat.calls[0]["query"] == ""
    assert chat.calls[0]["conversation_id"] is None


def test_no_user_is_sent_as_none() -> None:
    interface = FakeAppInterface()
    call_for("completion", interface).blocking()
    assert interface.calls[0]["user"] is None
    assert interface.calls[0]["inputs"] == {}


# -- failures while streaming ----------------------------------------------------------------
def test_events_before_a_mid_stream_failure_arrive_then_app_failed() -> None:
    interface = FakeAppInterface(events=[{"event": "workflow_started"}], error="read app failed: EOF")
    stream = call_for("workflow", interface).stream()
    assert next(stream) == {"event": "workflow_started"}
    with pytest.raises(AppFailed) as raised:
        next(stream)
    assert raised.value.code == "app_stream_failed"


def test_a_call_refused_at_once_is_app_failed_on_the_first_read() -> None:
    interface = FakeAppInterface(error=rejected(404, {"message": "app not found"}), raise_on_call=True)
    with pytest.raises(AppFailed) as raised:
        next(call_for("workflow", interface).stream())
    assert raised.value.code == "app_not_found"


def test_a_client_leaving_early_closes_the_apps_stream_without_an_error() -> None:
    interface = FakeAppInterface(events=[{"event": "a"}, {"event": "b"}])
    stream = call_for("workflow", interface).stream()
    next(stream)
    stream.close()
    assert interface.closed


# -- the daemon's texts ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code", "status", "says"),
    [
        (rejected(404, {"code": "not_found", "message": "app not found"}), "app_not_found", 503, "`workflow_app`"),
        (rejected(400, {"code": "invalid_param", "message": "missing query"}), "app_wrong_type", 503, "chat app"),
        (
            rejected(400, {"code": "invalid_param", "message": "topic is required in input form"}),
            "invalid_inputs",
            400,
            "The app rejected the request: topic is required in input form",
        ),
        (rejected(400, {"code": "invalid_param", "message": ""}), "app_failed", 502, "could not be run"),
        (rejected(500, {"code": "internal_server_error", "message": "boom"}), "app_failed", 502, "could not be run"),
        (rejected(502, "<html>Bad Gateway</html>"), "app_failed", 502, "could not be run"),
        (
            "permission denied, you need to enable app access in plugin manifest",
            "app_permission_denied",
            503,
            "app permission",
        ),
        ("invocation exited without response", "app_timeout", 504, "did not answer in time"),
        ("read app failed: context deadline exceeded", "app_stream_failed", 502, "failed while answering"),
    ],
)
def test_each_daemon_text_becomes_a_failure_saying_whose_fault_it_is(
    text: str, code: str, status: int, says: str
) -> None:
    failure = failure_of(text)
    assert (failure.code, failure.status) == (code, status)
    assert says in failure.message
    assert not [word for word in DAEMON_WORDS if word in failure.message]


def test_an_unrecognised_text_is_a_generic_failure_with_none_of_its_words() -> None:
    text = "dial tcp 10.0.3.7:5002: connect: connection refused (secret-host.internal)"
    failure = failure_of(text)
    assert (failure.code, failure.status) == ("app_failed", 502)
    assert failure.message == "The app could not be run."
    assert not set(text.lower().split()) & set(failure.message.lower().strip(".").split())


def test_the_daemons_text_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="provider.apps"):
        failure_of("dial tcp 10.0.3.7:5002: connection refused")
    assert "10.0.3.7:5002" in caplog.text
    assert "workflow_app" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        # chat and agent apps: 400 invalid_param with an empty message
        rejected(400, {"code": "invalid_param", "message": "", "status": 400}),
        # some Dify versions: a 404 naming the conversation
        rejected(404, {"code": "not_found", "message": "Conversation Not Exists."}),
    ],
)
def test_an_unknown_conversation_is_reported_as_such(text: str) -> None:
    chat = FakeAppInterface(error=text)
    with pytest.raises(AppFailed) as raised:
        call_for("chat", chat, query="hi", conversation_id=CONVERSATION).blocking()
    assert (raised.value.code, raised.value.status) == ("conversation_not_found", 404)
    assert "leave conversation_id empty" in raised.value.message


def test_the_log_line_says_which_call_failed_and_why(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="provider.apps"):
        failure_of("dial tcp 10.0.3.7:5002: connection refused")
    assert caplog.messages == [
        "app call failed (workflow app-1 via workflow_app): dial tcp 10.0.3.7:5002: connection refused"
    ]


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "not json"])
def test_an_error_body_that_is_not_an_object_is_a_generic_failure_even_in_a_conversation(body: str) -> None:
    """Only Dify's error object says "unknown conversation"; any other body is the generic failure."""
    chat = FakeAppInterface(error=rejected(400, body))
    with pytest.raises(AppFailed) as raised:
        call_for("chat", chat, query="hi", conversation_id=CONVERSATION).blocking()
    assert (raised.value.code, raised.value.status) == ("app_failed", 502)


def test_an_app_that_is_gone_names_the_setting_to_fix() -> None:
    failure = call_for().failure(Exception("fetch app failed: data is nil"))
    assert (failure.code, failure.status) == ("app_not_found", 503)
    assert failure.message == (
        "The app set in `workflow_app` was not found in this workspace; choose another app in the endpoint's settings."
    )


#: Dify 1.13.2's answer to every plugin call of a completion app (recorded:
#: real-dify-1.13.2/inner-api/inner_completion_stream.*), as the daemon words it.
COMPLETION_500 = rejected(500, '{"message":"Internal Server Error","code":"unknown","status":500}\n')


def test_a_completion_app_answering_500_names_difys_defect_and_the_workaround() -> None:
    failure = failure_of(COMPLETION_500, kind="completion")
    assert (failure.code, failure.status) == ("completion_unsupported", 502)
    assert "Dify 1.13.2 cannot run completion apps from a plugin" in failure.message
    assert "workflow app" in failure.message
    assert "`completion_app`" in failure.message
    assert not [word for word in DAEMON_WORDS if word in failure.message]


@pytest.mark.parametrize("kind", ["workflow", "chat"])
def test_the_same_500_of_another_kind_of_app_is_a_generic_failure(kind: AppKind) -> None:
    fields = {"query": "hi"} if kind == "chat" else {}
    with pytest.raises(AppFailed) as raised:
        call_for(kind, FakeAppInterface(error=COMPLETION_500), **fields).blocking()
    assert (raised.value.code, raised.value.status) == ("app_failed", 502)
