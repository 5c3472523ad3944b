"""Signed requests: HMAC-SHA256 over the raw body, as webhooks send them.

A sender that shares a secret with the endpoint signs the exact bytes it sends and
puts the signature in a header, by default `X-Signature: sha256=<64 hex digits>`
(GitHub's `X-Hub-Signature-256` has this shape: pass `header=`). The timestamp
variant also signs the moment of sending, `f"{timestamp}.".encode() + body` with the
Unix time in `X-Timestamp` (Stripe's and Slack's shape), and refuses a request
whose timestamp is further than `tolerance_seconds` from now: a recorded request
cannot be replayed later.

Checking an endpoint's request (the secret from a `secret-input` setting)::

    secret = text_setting(settings, "signing_secret")              # provider.settings
    body = signatures.verify_signature(r, secret)                  # or:
    body = signatures.verify_timestamped_signature(r, secret, tolerance_seconds=300)

Signing one (tests, examples, a sender written in Python)::

    headers = signatures.signature_headers("s3cret", b'{"order_id": "A-1"}', timestamp=int(time.time()))
    # {"X-Signature": "sha256=…", "X-Timestamp": "17…"}

Both checks return the raw body they verified (parse that, not a re-read copy), and
compare in constant time (`hmac.compare_digest`), so a signature cannot be guessed
byte by byte from response times. Every refusal is an `Unauthorized` with its own
`code` (missing_signature, malformed_signature, invalid_signature, missing_timestamp,
malformed_timestamp, stale_timestamp) and `scheme=None`: a signature is not an HTTP
authentication scheme, so the 401 sends no `WWW-Authenticate: Bearer` challenge.
No message repeats what the caller sent or what the right signature would be.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Final

from werkzeug import Request

from provider.errors import AppNotConfigured, Unauthorized
from provider.parsing import request_body

DEFAULT_HEADER: Final = "X-Signature"
DEFAULT_PREFIX: Final = "sha256="
DEFAULT_TIMESTAMP_HEADER: Final = "X-Timestamp"
#: How far (seconds, either way) a signed timestamp may be from the endpoint's clock.
DEFAULT_TOLERANCE_SECONDS: Final = 300

_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def _key(secret: str | bytes) -> bytes:
    if not secret:
        # an endpoint that verifies signatures with no secret would accept anyone's
        raise AppNotConfigured(
            "This endpoint checks request signatures but has no signing secret: the workspace owner must set it "
            "in the endpoint's settings in Dify."
        )
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _signed_bytes(body: bytes, timestamp: int | str | None) -> bytes:
    return body if timestamp is None else f"{timestamp}.".encode() + body


def sign(secret: str | bytes, body: bytes, *, timestamp: int | None = None, prefix: str = DEFAULT_PREFIX) -> str:
    """The signature header's value for `body`: `prefix` + hex HMAC-SHA256.

    With `timestamp` (Unix seconds), `f"{timestamp}.".encode() + body` is signed, as
    `verify_timestamped_signature` expects.

    >>> sign("s3cret", b"{}")
    'sha256=adbde1ce40c89c14215687d5d762a47df6dfaefcfad61e2e86718ffc8498571b'
    """
    digest = hmac.new(_key(secret), _signed_bytes(body, timestamp), hashlib.sha256).hexdigest()
    return prefix + digest


def signature_headers(
    secret: str | bytes,
    body: bytes,
    *,
    timestamp: int | None = None,
    header: str = DEFAULT_HEADER,
    timestamp_header: str = DEFAULT_TIMESTAMP_HEADER,
    prefix: str = DEFAULT_PREFIX,
) -> dict[str, str]:
    """The headers a sender adds to `body`: the signature, and the timestamp when given."""
    headers = {header: sign(secret, body, timestamp=timestamp, prefix=prefix)}
    if timestamp is not None:
        headers[timestamp_header] = str(timestamp)
    return headers


def verify_signature(
    r: Request, secret: str | bytes, *, header: str = DEFAULT_HEADER, prefix: str = DEFAULT_PREFIX
) -> bytes:
    """The request's raw body, once its `header` is the HMAC-SHA256 of it under `secret`;
    Unauthorized (no Bearer challenge) when the header is missing, malformed or wrong."""
    return _check(r, secret, None, header=header, prefix=prefix)


def verify_timestamped_signature(
    r: Request,
    secret: str | bytes,
    *,
    header: str = DEFAULT_HEADER,
    prefix: str = DEFAULT_PREFIX,
    timestamp_header: str = DEFAULT_TIMESTAMP_HEADER,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> bytes:
    """The request's raw body, once `timestamp_header` holds Unix seconds within
    `tolerance_seconds` of `clock()` and `header` signs `f"{timestamp}.".encode() + body`.

    The timestamp is checked first, so a replayed request is refused as stale even
    when its signature is right; `clock` is injectable for tests."""
    raw = r.headers.get(timestamp_header)
    if raw is None or not raw.strip():
        raise Unauthorized(
            f"This endpoint needs a signed, timestamped request: send `{timestamp_header}: <Unix seconds>` and "
            f'`{header}: {prefix}<hex HMAC-SHA256 of "<timestamp>." + body>`.',
            code="missing_timestamp",
            scheme=None,
        )
    if not _UNIX_SECONDS.fullmatch(raw.strip()):
        raise Unauthorized(
            f"The `{timestamp_header}` header must be the Unix time in whole seconds (e.g. {int(clock())}).",
            code="malformed_timestamp",
            scheme=None,
        )
    timestamp = raw.strip()
    drift = abs(clock() - int(timestamp))
    if drift > tolerance_seconds:
        raise Unauthorized(
            f"The `{timestamp_header}` is {drift:.0f} s away from the endpoint's clock; at most "
            f"{tolerance_seconds:g} s are allowed, so that a recorded request cannot be replayed. "
            "Sign the request again with the current time.",
            code="stale_timestamp",
            scheme=None,
        )
    return _check(r, secret, timestamp, header=header, prefix=prefix)


def _bodies(r: Request) -> list[bytes]:
    """What the client may have signed: the body it sent (`request_body`), and, when the
    daemon's framing of an empty body makes that ambiguous, the five bytes as they came
    (a client that really sent `0\r\n\r\n` signed those)."""
    body, raw = request_body(r), r.get_data(cache=True)
    return [body] if raw == body else [body, raw]


def _check(r: Request, secret: str | bytes, timestamp: str | None, *, header: str, prefix: str) -> bytes:
    key = _key(secret)  # before reading the header: an unconfigured endpoint is the owner's to fix
    what = "body" if timestamp is None else '"<timestamp>." + body'
    supplied = r.headers.get(header)
    if supplied is None or not supplied.strip():
        raise Unauthorized(
            f"This endpoint needs a signed request: send `{header}: {prefix}<hex HMAC-SHA256 of the {what}>` "
            "made with the endpoint's signing secret.",
            code="missing_signature",
            scheme=None,
        )
    supplied = supplied.strip()
    digest = supplied[len(prefix) :] if supplied[: len(prefix)].lower() == prefix.lower() else None
    if digest is None or not _HEX_DIGEST.fullmatch(digest):
        raise Unauthorized(
            f"The `{header}` header must be `{prefix}` followed by the 64 hex digits of an HMAC-SHA256.",
            code="malformed_signature",
            scheme=None,
        )
    for body in _bodies(r):
        expected = hmac.new(key, _signed_bytes(body, timestamp), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, digest.lower()):
            return body
    raise Unauthorized(
        f"The `{header}` signature does not match the request: sign the exact bytes of the {what} with the "
        "endpoint's signing secret (HMAC-SHA256, hex).",
        code="invalid_signature",
        scheme=None,
    )
