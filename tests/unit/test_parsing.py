"""provider.parsing: every rejection is a 400 with a stable code and a message saying what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provider import parsing
from provider.errors import BadRequest
from provider.limits import MAX_INPUTS_BYTES, MAX_QUERY_CHARS, MAX_USER_CHARS
from tests.unit.fakes import request

CONVERSATION = "6b1e5a43-8a3f-4a61-9d0e-1c2b3a4d5e6f"


def post(body: Any = None, *, raw: bytes | None = None) -> parsing.RunRequest:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return parsing.run_request(request("POST", data=data, content_type="application/json"))


def rejected(call: Any, *args: Any) -> BadRequest:
    with pytest.raises(BadRequest) as raised:
        call(*args)
    assert raised.value.status == 400
    return raised.value


# -- json_body ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"", b"  \n", parsing.EMPTY_CHUNKED_BODY])
def test_an_empty_body_is_an_empty_object(raw: bytes) -> None:
    """`0\\r\\n\\r\\n` is an empty POST as the daemon copies it (chunked, never de-chunked)."""
    assert parsing.json_body(request("POST", data=raw)) == {}


def test_the_daemons_empty_body_runs_with_defaults() -> None:
    assert post(raw=b"0\r\n\r\n") == parsing.RunRequest(inputs={})


def test_a_json_zero_followed_by_other_whitespace_is_still_refused() -> None:
    assert rejected(parsing.json_body, request("POST", data=b"0\n\n")).code == "invalid_body"


def test_broken_json_says_where() -> None:
    error = rejected(parsing.json_body, request("POST", data=b'{"a": 1,\n "b": }'))
    assert error.code == "invalid_json"
    assert "line 2 column" in error.message


def test_a_body_that_is_not_utf8_says_so() -> None:
    error = rejected(parsing.json_body, request("POST", data=b'{"query": "caf\xe9"}'))  # Latin-1
    assert error.code == "invalid_json"
    assert error.message == "The body is not UTF-8 text; send JSON encoded as UTF-8."


def test_absurdly_nested_json_is_a_400_not_a_crash() -> None:
    error = rejected(parsing.json_body, request("POST", data=b"[" * 100_000 + b"]" * 100_000))
    assert error.code == "invalid_json"


@pytest.mark.parametrize(("body", "name"), [([1], "array"), ("x", "string"), (3, "number"), (None, "null")])
def test_a_body_that_is_not_an_object_names_its_json_type_and_the_expected_shape(body: Any, name: str) -> None:
    r = request("POST", data=json.dumps(body).encode())
    error = rejected(parsing.json_body, r, '{"query": "..."}')
    assert error.code == "invalid_body"
    assert error.message == f'The request body must be a JSON object like {{"query": "..."}}, not a JSON {name}.'


# -- run_request -------------------------------------------------------------------------
def test_run_defaults_to_streaming_with_no_inputs() -> None:
    assert post() == parsing.RunRequest(inputs={}, response_mode="streaming", user=None)
    assert post({"inputs": None}).inputs == {}


def test_run_fields_are_taken_as_sent() -> None:
    run = post({"inputs": {"topic": "ducks"}, "response_mode": "blocking", "user": "ada"})
    assert run == parsing.RunRequest(inputs={"topic": "ducks"}, response_mode="blocking", user="ada")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"inputs": [1]}, "invalid_field"),
        ({"inputs": "x"}, "invalid_field"),
        ({"inputs": {}, "response_mode": "fast"}, "invalid_response_mode"),
        ({"input": {}}, "unknown_field"),
        ({"inputs": {}, "user": 7}, "invalid_field"),
        ({"inputs": {}, "user": "u" * (MAX_USER_CHARS + 1)}, "field_too_large"),
        ({"inputs": {"big": "x" * MAX_INPUTS_BYTES}}, "field_too_large"),
        ([1, 2], "invalid_body"),
    ],
)
def test_bad_run_bodies_are_refused_with_their_code(body: Any, code: str) -> None:
    assert rejected(post, body).code == code


def test_run_body_that_is_not_an_object_shows_the_expected_shape() -> None:
    assert '{"inputs": {...}}' in rejected(post, [1]).message


def test_get_takes_the_same_fields_from_the_query_string_with_inputs_as_json_text() -> None:
    r = request(query_string={"inputs": '{"topic": "ducks"}', "response_mode": "blocking", "user": "ada"})
    assert parsing.run_request(r) == parsing.RunRequest(inputs={"topic": "ducks"}, response_mode="blocking", user="ada")


def test_get_with_broken_inputs_names_the_query_parameter() -> None:
    error = rejected(parsing.run_request, request(query_string={"inputs": "{broken"}))
    assert error.code == "invalid_json"
    assert "`inputs` query parameter" in error.message


def test_a_key_in_the_query_string_is_refused_with_a_pointer_to_the_header() -> None:
    error = rejected(parsing.run_request, request(query_string={"key": "s3cret"}))
    assert error.code == "unknown_field"
    assert "Authorization: Bearer" in error.message
    assert "s3cret" not in error.message


# -- form_fields -------------------------------------------------------------------------
def test_fields_come_from_the_query_string_a_form_or_json() -> None:
    assert parsing.form_fields(request(query_string={"query": "hi"})) == {"query": "hi"}
    assert parsing.form_fields(request("POST", data={"query": "hi"})) == {"query": "hi"}
    multipart = request("POST", data={"query": "hi"}, content_type="multipart/form-data")
    assert parsing.form_fields(multipart) == {"query": "hi"}
    assert parsing.form_fields(request("POST", json={"query": "hi"})) == {"query": "hi"}


# -- question ----------------------------------------------------------------------------
def test_a_question_with_everything() -> None:
    fields = {"query": "hi", "conversation_id": CONVERSATION, "user": "ada"}
    assert parsing.question(fields) == parsing.Question(query="hi", conversation_id=CONVERSATION, user="ada")
    assert parsing.question({"query": "hi", "conversation_id": ""}).conversation_id is None


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({}, "missing_query", "Type a question: `query` is empty."),
        ({"query": "   "}, "missing_query", "Type a question: `query` is empty."),
        ({"query": 42}, "invalid_field", "`query` must be a string."),
        (
            {"query": "x" * (MAX_QUERY_CHARS + 1)},
            "field_too_large",
            f"The question is too long ({MAX_QUERY_CHARS + 1} characters; at most {MAX_QUERY_CHARS}).",
        ),
        (
            {"query": "hi", "conversation_id": "not-a-uuid"},
            "invalid_field",
            "`conversation_id` must be the id returned",
        ),
        ({"query": "hi", "user": ["a"]}, "invalid_field", "`user` must be a string."),
    ],
)
def test_bad_questions_say_what_to_fix(fields: dict[str, Any], code: str, message: str) -> None:
    error = rejected(parsing.question, fields)
    assert error.code == code
    assert message in error.message


def test_messages_name_no_particular_plugin() -> None:
    """The module is copied into other plugins as is: no word of this one."""
    messages = [
        rejected(post, [1]).message,
        rejected(post, {"x": 1}).message,
        rejected(parsing.question, {}).message,
        rejected(parsing.question, {"query": "hi", "conversation_id": "x"}).message,
    ]
    assert not [m for m in messages if "gallery" in m.lower() or "duck" in m.lower()]
