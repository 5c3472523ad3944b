"""Responses: errors mapped to HTTP in one place, and the headers every stream needs."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml  # PyYAML: a dependency of dify_plugin, so always installed with the plugin
from werkzeug import Response

from provider.errors import EndpointError, Unauthorized
from provider.limits import MAX_CHUNK_BYTES
from provider.sse import ServerSentEvent

#: The plugin's root: where `manifest.yaml` lives (and the plugin process's working directory).
PLUGIN_ROOT: Final = Path(__file__).resolve().parent.parent
#: The realm when the manifest cannot tell the plugin's name.
FALLBACK_REALM: Final = "dify-plugin"
# What Dify accepts as a plugin name; also guarantees the realm needs no quoting.
_PLUGIN_NAME = re.compile(r"[a-z0-9_-]{1,128}")

# Proxies (nginx above all) buffer responses unless told not to; caches must not keep streams.
STREAM_HEADERS: Final = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}


def read_manifest(manifest: Path) -> dict[str, Any]:
    """The plugin's manifest as a mapping; empty when it is missing, broken or not a
    mapping (callers fall back to defaults rather than fail requests over it).

    Read as bytes: PyYAML detects the encoding itself (and refuses bytes that are not
    UTF-8/16), so no locale is involved."""
    try:
        data = yaml.safe_load(manifest.read_bytes())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def realm_of(manifest: Mapping[str, Any]) -> str:
    """The plugin's `name` from its manifest, for `WWW-Authenticate` realms.

    Read from the manifest rather than written here so that this module stays the
    same in every plugin copied from this one; anything unreadable (a missing file,
    broken YAML, a name Dify would reject) gives FALLBACK_REALM instead of failing
    requests over a header.
    """
    name = manifest.get("name")
    return name if isinstance(name, str) and _PLUGIN_NAME.fullmatch(name) else FALLBACK_REALM


@functools.cache
def manifest() -> Mapping[str, Any]:
    """The plugin's own manifest (`read_manifest` of PLUGIN_ROOT/manifest.yaml): the one
    place it is read, once, when first asked for (not at import: a module that merely
    imports this one reads no file)."""
    return MappingProxyType(read_manifest(PLUGIN_ROOT / "manifest.yaml"))


@functools.cache
def realm() -> str:
    """The `WWW-Authenticate` realm: the plugin's name from its manifest (see `realm_of`)."""
    return realm_of(manifest())


def error_headers(error: EndpointError) -> dict[str, str]:
    """The headers of every error response, whatever shape its body takes (JSON, HTML,
    OpenAI's or JSON-RPC's): never cached, no sniffing, and a 401's challenge."""
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if isinstance(error, Unauthorized) and error.scheme:
        # RFC 9110: a 401 must say which scheme it wants; one that is not about an HTTP
        # authentication scheme (a request signature) claims none.
        headers["WWW-Authenticate"] = f'{error.scheme} realm="{realm()}"'
    return headers


def bounded_chunks(chunks: Iterable[bytes], limit: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """`chunks` as they come, each piece larger than `limit` bytes cut into several
    (see MAX_CHUNK_BYTES). Nothing is held back: small chunks pass through unchanged."""
    for chunk in chunks:
        for start in range(0, len(chunk), limit):
            yield chunk[start : start + limit]


def joined_chunks(groups: Iterable[Sequence[bytes]], limit: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """Each group of pieces as one chunk, as it comes; a group over `limit` bytes goes in
    several chunks, cut between pieces where it can (a piece over `limit` is cut too)."""
    for group in groups:
        pending: list[bytes] = []
        size = 0
        for piece in group:
            if pending and size + len(piece) > limit:
                yield b"".join(pending)
                pending, size = [], 0
            if len(piece) > limit:
                yield from bounded_chunks([piece], limit)
                continue
            pending.append(piece)
            size += len(piece)
        if pending:
            yield b"".join(pending)


def json_response(payload: Any, status: int = 200) -> Response:
    """`payload` as a JSON body that no cache keeps (answers are per request), sent in
    chunks of at most MAX_CHUNK_BYTES, so that a big app result cannot kill the plugin."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(
        bounded_chunks([body]),
        status=status,
        content_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def json_error(error: EndpointError) -> Response:
    """`{"error": {"code", "message"}}` with the error's status."""
    body = json.dumps({"error": {"code": error.code, "message": error.message}}, ensure_ascii=False)
    return Response(
        body, status=error.status, content_type="application/json; charset=utf-8", headers=error_headers(error)
    )


def html_error(error: EndpointError, page: str, headers: dict[str, str]) -> Response:
    """An HTML `page` explaining `error`, with the error's status, for endpoints people open in a browser."""
    return Response(
        page, status=error.status, content_type="text/html; charset=utf-8", headers={**error_headers(error), **headers}
    )


def sse_batch_response(batches: Iterable[Sequence[ServerSentEvent]]) -> Response:
    """A text/event-stream whose every list of frames is one chunk (see `joined_chunks`):
    the frames of a burst travel together, a lone frame as soon as it comes."""
    encoded = ([frame.encode() for frame in batch] for batch in batches)
    return Response(
        joined_chunks(encoded), status=200, content_type="text/event-stream; charset=utf-8", headers=STREAM_HEADERS
    )


def html_stream(chunks: Iterable[str], headers: dict[str, str]) -> Response:
    """An HTML page sent piece by piece as `chunks` yields them (each flushed as it comes)."""
    encoded = (chunk.encode("utf-8") for chunk in chunks)
    return Response(
        bounded_chunks(encoded),
        status=200,
        content_type="text/html; charset=utf-8",
        headers={**STREAM_HEADERS, **headers},
    )
