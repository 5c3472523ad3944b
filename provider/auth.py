"""The optional API key of an endpoint instance (`EndpointSettings.api_key`)."""

from __future__ import annotations

import hmac

from werkzeug import Request

from provider.errors import Unauthorized


def bearer_token(r: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else None."""
    scheme, _, token = (r.headers.get("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def require_api_key(r: Request, api_key: str | None, *, key_field: str | None = None) -> str | None:
    """Raise Unauthorized unless the request carries `api_key` (None or "": no key needed).

    `key_field` is the value of a `key` query/form field ("" when absent; None for
    endpoints that do not accept one). Accept it only on pages people open in a
    browser, which cannot add headers: a key in a URL ends up in histories and logs.

    Returns `key_field` when it is the right key, else None: what a page may carry
    into its follow-up forms, so a wrong key is never written back to anyone. The
    comparisons are constant-time so the key cannot be guessed byte by byte from
    response times, and no message repeats what the caller sent.
    """
    if not api_key:
        return None
    supplied = bearer_token(r) or key_field
    how = "send `Authorization: Bearer <key>`" + (" or add `key=<key>` to the URL" if key_field is not None else "")
    if not supplied:
        raise Unauthorized(f"This endpoint needs an API key: {how}.", code="missing_api_key")
    if not _same(supplied, api_key):
        raise Unauthorized(
            f"The API key is wrong: {how} with the key set in the endpoint's settings.", code="invalid_api_key"
        )
    return key_field if key_field and _same(key_field, api_key) else None


def _same(supplied: str, expected: str) -> bool:
    return hmac.compare_digest(supplied.encode(), expected.encode())
