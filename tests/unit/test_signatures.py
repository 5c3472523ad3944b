"""provider.signatures: HMAC-SHA256 request signatures, plain and timestamped."""

from __future__ import annotations

import doctest
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provider import http, signatures
from provider.errors import AppNotConfigured, Unauthorized
from provider.parsing import EMPTY_CHUNKED_BODY
from tests.unit.fakes import request

SECRET = "whsec-test"
BODY = b'{"order_id": "A-1", "amount": 12.5}'
NOW = 1_796_457_218


def signed(body: bytes = BODY, headers: dict[str, str] | None = None) -> object:
    return request("POST", data=body, content_type="application/json", headers=headers or {})


def refused(call: object) -> Unauthorized:
    with pytest.raises(Unauthorized) as raised:
        call()  # type: ignore[operator]
    return raised.value


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(signatures).failed == 0


def test_sign_is_hmac_sha256_hex_of_the_body_with_the_prefix() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signatures.sign(SECRET, BODY) == f"sha256={expected}"
    assert signatures.sign(SECRET.encode(), BODY, prefix="") == expected
    stamped = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signatures.sign(SECRET, BODY, timestamp=NOW) == f"sha256={stamped}"


def test_a_right_signature_returns_the_raw_body() -> None:
    headers = signatures.signature_headers(SECRET, BODY)
    assert set(headers) == {"X-Signature"}
    assert signatures.verify_signature(signed(headers=headers), SECRET) == BODY  # type: ignore[arg-type]


def test_the_header_name_and_prefix_are_configurable_and_hex_case_does_not_matter() -> None:
    value = signatures.sign(SECRET, BODY, prefix="v1=").upper().replace("V1=", "v1=")
    r = signed(headers={"X-Hub-Signature-256": value})
    assert signatures.verify_signature(r, SECRET, header="X-Hub-Signature-256", prefix="v1=") == BODY  # type: ignore[arg-type]


def test_an_empty_body_as_the_daemon_frames_it_is_verified_as_empty() -> None:
    r = signed(EMPTY_CHUNKED_BODY, signatures.signature_headers(SECRET, b""))
    assert signatures.verify_signature(r, SECRET) == b""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_signature"),
        ({"X-Signature": "  "}, "missing_signature"),
        ({"X-Signature": "deadbeef"}, "malformed_signature"),
        ({"X-Signature": "sha256=" + "g" * 64}, "malformed_signature"),
        ({"X-Signature": "sha256=" + "a" * 63}, "malformed_signature"),
        ({"X-Signature": "sha1=" + "a" * 64}, "malformed_signature"),
        ({"X-Signature": "sha256=" + "a" * 64}, "invalid_signature"),
        ({"X-Signature": signatures.sign("other-secret", BODY)}, "invalid_signature"),
        ({"X-Signature": signatures.sign(SECRET, BODY + b" ")}, "invalid_signature"),
    ],
)
def test_every_refusal_is_a_401_with_its_code_and_no_bearer_challenge(headers: dict[str, str], code: str) -> None:
    error = refused(lambda: signatures.verify_signature(signed(headers=headers), SECRET))  # type: ignore[arg-type]
    assert (error.status, error.code, error.scheme) == (401, code, None)
    assert "X-Signature" in error.message
    sent = headers.get("X-Signature", "").strip()
    assert not sent or sent not in error.message  # never echoes what was sent
    response = http.json_error(error)
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers
    assert json.loads(response.get_data())["error"]["code"] == code


def test_a_body_that_really_is_the_daemons_empty_framing_verifies_as_sent() -> None:
    """`0\r\n\r\n` is also how the daemon frames an empty body; a client that signed
    those five bytes (not an empty body) is not refused for it."""
    r = signed(EMPTY_CHUNKED_BODY, signatures.signature_headers(SECRET, EMPTY_CHUNKED_BODY))
    assert signatures.verify_signature(r, SECRET) == EMPTY_CHUNKED_BODY  # type: ignore[arg-type]


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    r = signed(headers=signatures.signature_headers(SECRET, BODY))
    signatures.verify_signature(r, SECRET)  # type: ignore[arg-type]
    assert len(compared) == 1


@pytest.mark.parametrize("secret", ["", b""])
def test_no_secret_is_the_owners_mistake_not_an_open_door(secret: str | bytes) -> None:
    r = signed(headers={"X-Signature": "sha256=" + "a" * 64})
    with pytest.raises(AppNotConfigured):
        signatures.verify_signature(r, secret)  # type: ignore[arg-type]


def verify_at(now: float, headers: dict[str, str], body: bytes = BODY, tolerance: float = 300) -> bytes:
    return signatures.verify_timestamped_signature(
        signed(body, headers),  # type: ignore[arg-type]
        SECRET,
        tolerance_seconds=tolerance,
        clock=lambda: now,
    )


@pytest.mark.parametrize("drift", [0, 300, -300, 299.5])
def test_a_timestamped_signature_within_the_window_passes(drift: float) -> None:
    headers = signatures.signature_headers(SECRET, BODY, timestamp=NOW)
    assert set(headers) == {"X-Signature", "X-Timestamp"}
    assert verify_at(NOW + drift, headers) == BODY


@pytest.mark.parametrize("drift", [301, -301, 86_400])
def test_a_replayed_or_future_request_is_stale_even_with_a_right_signature(drift: float) -> None:
    headers = signatures.signature_headers(SECRET, BODY, timestamp=NOW)
    error = refused(lambda: verify_at(NOW + drift, headers))
    assert (error.code, error.scheme) == ("stale_timestamp", None)
    assert f"{abs(drift):.0f} s" in error.message
    assert "300 s" in error.message


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    headers = signatures.signature_headers(SECRET, BODY, timestamp=NOW)
    headers["X-Timestamp"] = str(NOW + 1)  # moved forward to dodge the window: the signature no longer fits
    assert refused(lambda: verify_at(NOW, headers)).code == "invalid_signature"
    plain = signatures.signature_headers(SECRET, BODY) | {"X-Timestamp": str(NOW)}
    assert refused(lambda: verify_at(NOW, plain)).code == "invalid_signature"


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [(None, "missing_timestamp"), ("", "missing_timestamp"), ("soon", "malformed_timestamp"),
     ("1.5", "malformed_timestamp"), ("-5", "malformed_timestamp"), ("9" * 40, "malformed_timestamp")],
)  # fmt: skip
def test_a_missing_or_malformed_timestamp_is_refused_before_the_signature(timestamp: str | None, code: str) -> None:
    headers = signatures.signature_headers(SECRET, BODY, timestamp=NOW)
    if timestamp is None:
        del headers["X-Timestamp"]
    else:
        headers["X-Timestamp"] = timestamp
    error = refused(lambda: verify_at(NOW, headers))
    assert (error.code, error.scheme) == (code, None)
    assert "X-Timestamp" in error.message


def test_a_missing_signature_with_a_fresh_timestamp_says_what_to_sign() -> None:
    error = refused(lambda: verify_at(NOW, {"X-Timestamp": str(NOW)}))
    assert error.code == "missing_signature"
    assert '"<timestamp>." + body' in error.message


@given(body=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=64), timestamp=st.integers(0, 10**11))
def test_any_body_signed_verifies_and_any_changed_byte_does_not(body: bytes, secret: str, timestamp: int) -> None:
    headers = signatures.signature_headers(secret, body, timestamp=timestamp)
    r = signed(body, headers)
    verify = signatures.verify_timestamped_signature
    assert verify(r, secret, clock=lambda: timestamp) == body  # type: ignore[arg-type]
    if body:
        changed = bytes([body[0] ^ 1]) + body[1:]
        with pytest.raises(Unauthorized) as raised:
            verify(signed(changed, headers), secret, clock=lambda: timestamp)  # type: ignore[arg-type]
        assert raised.value.code == "invalid_signature"
