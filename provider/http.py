"""Responses: errors mapped to HTTP in one place, and the headers every stream needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from werkzeug import Response

from provider.errors import GalleryError, Unauthorized
from provider.sse import ServerSentEvent

# Proxies (nginx above all) buffer responses unless told not to; caches must not keep streams.
STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}


def _error_headers(error: GalleryError) -> dict[str, str]:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="endpoint-gallery"'
    return headers


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def json_error(error: GalleryError) -> Response:
    """`{"error": {"code", "message"}}` with the error's status."""
    body = json.dumps({"error": {"code": error.code, "message": error.message}}, ensure_ascii=False)
    return Response(body, status=error.status, content_type="application/json; charset=utf-8", headers=_error_headers(error))


def html_error(error: GalleryError, page: str, headers: dict[str, str]) -> Response:
    return Response(page, status=error.status, content_type="text/html; charset=utf-8", headers={**_error_headers(error), **headers})


def sse_response(frames: Iterable[ServerSentEvent]) -> Response:
    """A text/event-stream whose every frame is its own chunk (flushed as it comes)."""

    def chunks() -> Iterator[bytes]:
        for frame in frames:
            yield frame.encode()

    return Response(chunks(), status=200, content_type="text/event-stream; charset=utf-8", headers=STREAM_HEADERS)


def html_stream(chunks: Iterable[str], headers: dict[str, str]) -> Response:
    def encoded() -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk.encode("utf-8")

    return Response(encoded(), status=200, content_type="text/html; charset=utf-8", headers={**STREAM_HEADERS, **headers})
