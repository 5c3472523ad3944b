"""provider.parsing: every rejection is a 400 with a stable code and a message saying what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug import Request
from werkzeug.test import EnvironBuilder

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


# -- multipart run requests (file inputs) -----------------------------------------------------
PDF = b"%PDF-1.4\n%%EOF\n"


def multipart(*fields: tuple[str, str | tuple[str, bytes, str]], boundary: str = "b0und4ry") -> bytes:
    """A multipart/form-data body as browsers and curl write it."""
    out = b""
    for name, value in fields:
        if isinstance(value, tuple):
            filename, content, mimetype = value
            head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {mimetype}'
            out += f"--{boundary}\r\n{head}\r\n\r\n".encode() + content + b"\r\n"
        else:
            out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    return out + f"--{boundary}--\r\n".encode()


def post_form(body: bytes, boundary: str = "b0und4ry") -> parsing.RunRequest:
    r = request("POST", "/workflow", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    return parsing.run_request(r)


def test_a_multipart_request_gives_inputs_fields_and_files_per_variable_in_order() -> None:
    run = post_form(
        multipart(
            ("inputs", '{"topic": "ducks"}'),
            ("response_mode", "blocking"),
            ("user", "ada"),
            ("document", ("report.pdf", PDF, "application/pdf")),
            ("images", ("a.png", b"\x89PNG1", "image/png")),
            ("images", ("b.png", b"\x89PNG2", "IMAGE/PNG; name=b")),
        )
    )
    assert (run.inputs, run.response_mode, run.user) == ({"topic": "ducks"}, "blocking", "ada")
    assert list(run.files) == ["document", "images"]
    assert run.files["document"] == (parsing.FilePart("document", "report.pdf", "application/pdf", PDF),)
    assert [(f.filename, f.mimetype, f.content) for f in run.files["images"]] == [
        ("a.png", "image/png", b"\x89PNG1"),
        ("b.png", "image/png", b"\x89PNG2"),  # werkzeug's mimetype: lower case, no parameters
    ]


def test_a_multipart_request_without_inputs_or_files_is_an_empty_run() -> None:
    run = post_form(multipart())
    assert (run.inputs, run.response_mode, dict(run.files)) == ({}, "streaming", {})
    assert post_form(multipart(("inputs", " "))).inputs == {}


def test_an_empty_file_input_of_a_browser_form_is_no_file() -> None:
    """A browser sends a file input left empty as a part with no file name and no bytes."""
    run = post_form(multipart(("document", ("", b"", "application/octet-stream")), ("inputs", "{}")))
    assert dict(run.files) == {}


def test_a_cut_multipart_body_is_400_body_truncated_and_no_part_is_used() -> None:
    body = multipart(("inputs", "{}"), ("document", ("report.pdf", PDF * 100, "application/pdf")))
    cut = body[: len(body) - 200]  # what the daemon's 10 MiB cut leaves: no closing boundary
    error = rejected(post_form, cut)
    assert error.code == "body_truncated"
    assert error.message == (
        "The request body ended before its last multipart boundary: it was cut on the way (Dify passes at most "
        "10 MiB of a request to the plugin). Nothing was uploaded; send smaller files."
    )
    assert rejected(post_form, body[:-3]).code == "body_truncated"  # even just the final "--" gone


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            multipart(("document", "hello")),
            "unknown_field",
            "Unknown field `document`; allowed fields are inputs, response_mode, user. Files go in file parts "
            "named after the app's input variable (curl: -F 'document=@report.pdf').",
        ),
        (multipart(("user", "a"), ("user", "b")), "invalid_field", "The field `user` is sent more than once."),
        (
            multipart(("inputs", "{nope")),
            "invalid_json",
            "The `inputs` part is not valid JSON (Expecting property name enclosed in double quotes at line 1 "
            "column 2).",
        ),
        (
            multipart(("inputs", "[1]")),
            "invalid_field",
            "`inputs` must be a JSON object mapping variable names to values, not a JSON array.",
        ),
        (
            multipart(("inputs", '{"document": "x"}'), ("document", ("a.pdf", PDF, "application/pdf"))),
            "invalid_field",
            "`document` is sent both as a file and in `inputs`; send it once.",
        ),
        (
            multipart(("response_mode", "fast")),
            "invalid_response_mode",
            '`response_mode` must be "streaming" or "blocking", not "fast".',
        ),
    ],
)
def test_multipart_fields_are_checked_like_json_ones(body: bytes, code: str, message: str) -> None:
    error = rejected(post_form, body)
    assert (error.code, error.message) == (code, message)


def test_a_multipart_body_without_a_boundary_or_malformed_is_400() -> None:
    r = request("POST", "/workflow", data=b"--x\r\n", content_type="multipart/form-data")
    assert rejected(parsing.run_request, r).code == "invalid_body"
    broken = b"--b0und4ry\r\nno headers here\r\n--b0und4ry--\r\n"
    assert rejected(post_form, broken).code == "invalid_body"


def test_a_multipart_request_with_too_many_parts_is_400() -> None:
    many = [("images", (f"{n}.png", b"x", "image/png")) for n in range(parsing.MAX_FORM_PARTS + 1)]
    assert rejected(post_form, multipart(*many)).code == "field_too_large"


def test_the_daemons_empty_body_with_a_multipart_type_is_an_empty_run() -> None:
    assert post_form(parsing.EMPTY_CHUNKED_BODY).inputs == {}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("https://dify.example/e/abc/duck", ("https", "dify.example", "/e/abc/duck")),
        ("http://10.0.0.5:5002/e/abc", ("http", "10.0.0.5:5002", "/e/abc")),
        ("javascript:alert(1)", None),
        ("ftp://dify.example/e/abc", None),
        ("https:///e/abc", None),
        ("http://[::1", None),  # urlsplit refuses it: no URL
        ("", None),
        (None, None),
    ],
)
def test_hook_url_reads_only_an_http_url_with_a_host(header: str | None, expected: tuple[str, str, str] | None) -> None:
    parts = parsing.hook_url(header)
    assert (None if parts is None else (parts.scheme, parts.netloc, parts.path)) == expected
    r = Request(EnvironBuilder(path="/", headers={} if header is None else {"Dify-Hook-Url": header}).get_environ())
    assert parsing.hook_url(r) == parts
