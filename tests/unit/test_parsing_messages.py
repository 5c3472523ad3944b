"""provider.parsing: the exact words of every rejection, and the exact size limits.

`test_parsing.py` proves each bad request is refused with its code; these pin the
whole message (a person reads it to fix the request: a stray word is a defect) and
prove each limit is inclusive — a field of exactly the limit is accepted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from provider import parsing
from provider.errors import BadRequest
from provider.limits import MAX_INPUTS_BYTES, MAX_QUERY_CHARS, MAX_USER_CHARS
from tests.unit.fakes import request

CONVERSATION = "6b1e5a43-8a3f-4a61-9d0e-1c2b3a4d5e6f"


def message_of(call: Any, *args: Any) -> str:
    with pytest.raises(BadRequest) as raised:
        call(*args)
    return raised.value.message


def post(body: Any) -> parsing.RunRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parsing.run_request(request("POST", data=data, content_type="application/json"))


def get(query: str) -> parsing.RunRequest:
    return parsing.run_request(request("GET", query_string=query))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"inputs": ', "The request body is not valid JSON (Expecting value at line 1 column 12)."),
        (b"\xff\xfe", "The body is not UTF-8 text; send JSON encoded as UTF-8."),
        (b"[" * 100_000 + b"]" * 100_000, "The request body is nested too deeply."),
        ([1], 'The request body must be a JSON object like {"inputs": {...}}, not a JSON array.'),
        ({"inputs": 1}, "`inputs` must be a JSON object mapping variable names to values, not a JSON number."),
        ({"inputs": True}, "`inputs` must be a JSON object mapping variable names to values, not a JSON boolean."),
        ({"inputs": "x"}, "`inputs` must be a JSON object mapping variable names to values, not a JSON string."),
        ({"inputs": [1]}, "`inputs` must be a JSON object mapping variable names to values, not a JSON array."),
        ({"response_mode": "fast"}, '`response_mode` must be "streaming" or "blocking", not "fast".'),
        ({"response_mode": 1}, '`response_mode` must be "streaming" or "blocking", not 1.'),
        ({"user": 7}, "`user` must be a string."),
        (
            {"user": "u" * (MAX_USER_CHARS + 1)},
            f"`user` is too long ({MAX_USER_CHARS + 1} characters; at most {MAX_USER_CHARS}).",
        ),
        ({"zeta": 1, "alpha": 2}, "Unknown field `alpha`; allowed fields are inputs, response_mode, user."),
    ],
)
def test_each_bad_run_body_gets_its_exact_message(body: Any, message: str) -> None:
    assert message_of(post, body) == message


def test_a_body_nested_too_deeply_inside_inputs_is_named_as_the_request_body() -> None:
    """The recursion guard names what was being read, like the syntax error does."""
    deep = b'{"inputs": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    assert message_of(post, deep) == "The request body is nested too deeply."


def test_a_json_value_that_is_not_an_object_is_named_in_jsons_own_words() -> None:
    assert message_of(post, None) == 'The request body must be a JSON object like {"inputs": {...}}, not a JSON null.'
    assert message_of(post, "s") == (
        'The request body must be a JSON object like {"inputs": {...}}, not a JSON string.'
    )


def test_json_body_without_an_example_shows_none() -> None:
    r = request("POST", data=b"[]", content_type="application/json")
    assert message_of(parsing.json_body, r) == "The request body must be a JSON object, not a JSON array."


def test_a_body_read_twice_gives_the_same_bytes() -> None:
    """The body is cached on the request, so a second reader (an endpoint checking a
    form, then JSON) still sees it."""
    r = request("POST", data=b'{"inputs": {}}', content_type="application/json")
    assert parsing.request_body(r) == b'{"inputs": {}}'
    assert parsing.request_body(r) == b'{"inputs": {}}'


def test_inputs_missing_or_null_mean_no_inputs() -> None:
    assert post({}).inputs == {}
    assert post({"inputs": None}).inputs == {}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "inputs=%7B",
            "The `inputs` query parameter is not valid JSON (Expecting property name enclosed in double "
            "quotes at line 1 column 2).",
        ),
        (
            "key=abc",
            "Unknown field `key`; allowed fields are inputs, response_mode, user. "
            "The API key goes in the Authorization header (`Authorization: Bearer <key>`).",
        ),
        ("other=1", "Unknown field `other`; allowed fields are inputs, response_mode, user."),
    ],
)
def test_each_bad_query_string_gets_its_exact_message(query: str, message: str) -> None:
    assert message_of(get, query) == message


def test_inputs_of_exactly_the_byte_limit_are_accepted_and_one_more_is_refused() -> None:
    overhead = len(json.dumps({"a": ""}).encode())
    exact = {"a": "x" * (MAX_INPUTS_BYTES - overhead)}
    assert post({"inputs": exact}).inputs == exact
    over = {"a": "x" * (MAX_INPUTS_BYTES - overhead + 1)}
    assert message_of(post, {"inputs": over}) == (
        f"`inputs` is too large ({MAX_INPUTS_BYTES + 1} bytes; at most {MAX_INPUTS_BYTES})."
    )


def test_a_user_of_exactly_the_limit_is_accepted() -> None:
    assert post({"user": "u" * MAX_USER_CHARS}).user == "u" * MAX_USER_CHARS


def test_a_response_mode_is_passed_on_as_sent() -> None:
    assert post({"response_mode": "blocking"}).response_mode == "blocking"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Type a question: `query` is empty."),
        ({"query": 42}, "`query` must be a string."),
        (
            {"query": "hi", "conversation_id": "not-a-uuid"},
            "`conversation_id` must be the id returned with a previous answer (a UUID); "
            "leave it empty to start a new conversation.",
        ),
        (
            {"query": "hi", "conversation_id": "c" * 65},
            "`conversation_id` is too long (65 characters; at most 64).",
        ),
    ],
)
def test_each_bad_question_gets_its_exact_message(fields: dict[str, Any], message: str) -> None:
    assert message_of(parsing.question, fields) == message


def test_a_question_of_exactly_the_limit_is_accepted() -> None:
    assert parsing.question({"query": "q" * MAX_QUERY_CHARS}).query == "q" * MAX_QUERY_CHARS


def test_a_conversation_id_of_64_characters_reaches_the_uuid_check() -> None:
    """64 is the limit (a UUID with braces and urn prefix fits); 64 characters of a
    non-UUID are refused for not being a UUID, not for their length."""
    assert message_of(parsing.question, {"query": "hi", "conversation_id": "c" * 64}).startswith(
        "`conversation_id` must be the id returned"
    )
    assert parsing.question({"query": "hi", "conversation_id": CONVERSATION}).conversation_id == CONVERSATION


@pytest.mark.parametrize(
    ("value", "name"),
    [(None, "null"), (True, "boolean"), (0, "number"), (1.5, "number"), ("s", "string"), ([], "array"), ({}, "object")],
)
def test_every_json_value_is_named_in_jsons_own_words(value: object, name: str) -> None:
    assert parsing._json_type(value) == name
