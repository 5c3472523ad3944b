"""provider.parsing, multipart bodies: the exact words of each refusal, the text-field
bound, and what a file part without a name becomes."""

from __future__ import annotations

from typing import Any

import pytest

from provider import parsing
from provider.errors import BadRequest
from provider.limits import MAX_INPUTS_BYTES
from provider.settings import EndpointSettings
from tests.unit.fakes import request

BOUNDARY = "b0undary"


def multipart(*parts: bytes, boundary: str = BOUNDARY, content_type: str | None = None) -> Any:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return request(
        "POST", "/workflow", data=body, content_type=content_type or f"multipart/form-data; boundary={boundary}"
    )


def text_part(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def refusal(r: Any) -> BadRequest:
    with pytest.raises(BadRequest) as raised:
        parsing.run_request(r)
    return raised.value


def test_a_multipart_body_without_a_boundary_parameter_is_refused_in_words() -> None:
    error = refusal(multipart(text_part("user", b"u"), content_type="multipart/form-data"))
    assert (error.code, error.message) == (
        "invalid_body",
        "The multipart body has no boundary in its Content-Type header.",
    )


def test_a_malformed_multipart_body_is_refused_in_words() -> None:
    r = request(
        "POST",
        "/workflow",
        data=b"--b0undary\r\nno headers and no blank line--b0undary--",
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    error = refusal(r)
    assert (error.code, error.message) == ("invalid_body", "The multipart body is malformed.")


def test_a_text_field_over_the_parsers_bound_is_refused_naming_the_limits() -> None:
    error = refusal(multipart(text_part("user", b"u" * (2 * MAX_INPUTS_BYTES + 1))))
    assert error.code == "field_too_large"
    assert error.message == (
        f"The multipart body has too many parts or too large a text field (at most {parsing.MAX_FORM_PARTS} parts, "
        f"text fields up to {MAX_INPUTS_BYTES} bytes)."
    )


def test_a_text_field_within_the_parsers_bound_reaches_the_fields_own_check() -> None:
    error = refusal(multipart(text_part("user", b"u" * (2 * MAX_INPUTS_BYTES))))
    assert error.message.startswith("`user` is too long")


def test_a_file_part_without_a_file_name_keeps_its_bytes_with_an_empty_name() -> None:
    part = b'Content-Disposition: form-data; name="doc"; filename=""\r\nContent-Type: text/plain\r\n\r\nhello'
    run = parsing.run_request(multipart(part))
    assert [(f.filename, f.content) for f in run.files["doc"]] == [("", b"hello")]


def test_a_tiny_file_limit_is_still_one_byte() -> None:
    assert EndpointSettings.parse({"max_file_mb": "0.0000001"}).max_file_bytes == 1
