"""The optional API key of an endpoint instance (the `api_key` setting)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from werkzeug import Request

from provider.errors import Unauthorized


def bearer_token(r: Request) -> str | None:
    scheme, _, token = (r.headers.get("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def require_api_key(r: Request, settings: Mapping[str, Any], key_field: str | None = None) -> None:
    """Raise Unauthorized unless the request carries the configured key.

    `key_field` is the value of a `key` query/form field ("" when absent; None for
    endpoints that do not accept one). Only the Duck page accepts it (browsers open it directly and cannot add headers). The comparison is
    constant-time so the key cannot be guessed byte by byte from response times.
    """
    expected = settings.get("api_key")
    if not isinstance(expected, str) or not expected:
        return
    supplied = bearer_token(r) or key_field
    how = "send `Authorization: Bearer <key>`" + (" or add `key=<key>` to the URL" if key_field is not None else "")
    if not supplied:
        raise Unauthorized(f"This endpoint needs an API key: {how}.", code="missing_api_key")
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise Unauthorized(f"The API key is wrong: {how} with the key set in the endpoint's settings.", code="invalid_api_key")
