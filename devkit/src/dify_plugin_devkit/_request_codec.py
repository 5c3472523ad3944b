"""Copy an incoming HTTP request the way Dify's plugin daemon does, as HTTP/1.1 bytes.

The daemon (internal/service/endpoint.go, `copyRequest`) clones the request, replaces
the path, re-encodes the query, reads the body (max 10 MiB, the rest cut silently),
drops proxy/IP headers, adds `Dify-Hook-Id` / `Dify-Hook-Url`, and writes it with Go's
`Request.Write`. The plugin then parses those bytes with werkzeug via h11, which is
strict: reproducing Go's framing byte for byte is what makes the devkit's verdicts
match a real Dify.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote_plus

MAX_BODY_BYTES = 10 * 1024 * 1024

# Header names the daemon deletes "for security" before forwarding.
_REMOVED_HEADERS = frozenset(
    {
        "X-Forwarded-For",
        "X-Real-Ip",
        "X-Forwarded",
        "X-Original-Forwarded-For",
        "X-Original-Url",
        "X-Original-Host",
    }
)
# Go's Request.Write writes these itself (or never), not from the header map.
_WRITTEN_SEPARATELY = frozenset({"Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer"})
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VALID_ESCAPES = re.compile(r"%(?![0-9A-Fa-f]{2})")
# url.shouldEscape(c, encodePath) keeps unreserved characters and these.
_PATH_SAFE = "$&+,/:;=@"


def canonical_header_key(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: `content-type` → `Content-Type`."""
    if not _TOKEN.match(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def encode_query(raw_query: str) -> str:
    """Go's `url.Values.Encode()` of `req.URL.Query()`: keys sorted, pairs that Go
    cannot parse (a `;` in the pair, a broken `%` escape) silently dropped."""
    values: dict[str, list[str]] = {}
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        if _VALID_ESCAPES.search(key) or _VALID_ESCAPES.search(value):
            continue
        values.setdefault(unquote_plus(key), []).append(unquote_plus(value))
    return "&".join(f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k in sorted(values) for v in values[k])


@dataclass(frozen=True)
class IncomingRequest:
    """What the daemon knows about the request a client sent to `/e/<hook_id>/<path>`."""

    method: str
    path: str  # decoded, with a leading slash: the part after /e/<hook_id>
    raw_query: str
    headers: Sequence[tuple[str, str]]  # as received, duplicates kept, in order
    host: str
    body: bytes
    tls: bool = False


def _header_values(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(canonical_header_key(name), []).append(value)
    return merged


def serialize_request(request: IncomingRequest, hook_id: str) -> bytes:
    """The bytes the daemon hex-encodes into `raw_http_request`."""
    headers = _header_values(request.headers)
    # server/endpoint.go sets X-Original-Host to the request's Host when absent (or
    # empty: Header.Get); copyRequest then uses it as the forwarded Host.
    host = (headers.get("X-Original-Host") or [""])[0] or request.host
    for name in _REMOVED_HEADERS:
        headers.pop(name, None)
    headers["Dify-Hook-Id"] = [hook_id]
    if not headers.get("Dify-Hook-Url", [""])[0]:
        https = request.tls or headers.get("X-Forwarded-Proto", [""])[0] == "https"
        scheme = "https" if https else "http"
        headers["Dify-Hook-Url"] = [f"{scheme}://{host}/e/{hook_id}{request.path}"]

    target = quote(request.path, safe=_PATH_SAFE) or "/"
    query = encode_query(request.raw_query)
    if query:
        target = f"{target}?{query}"

    lines = [f"{request.method} {target} HTTP/1.1", f"Host: {host}"]
    user_agent = headers.get("User-Agent", ["Go-http-client/1.1"])[0]
    if user_agent:
        lines.append(f"User-Agent: {user_agent}")
    framing, body = body_framing(request.method, request.body)
    if framing:
        lines.append(framing)
    for name in sorted(headers):
        if name in _WRITTEN_SEPARATELY:
            continue
        lines.extend(f"{name}: {value}" for value in headers[name])
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


# net/http requestMethodUsuallyLacksBody (plus CONNECT, never chunked).
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "PROPFIND", "SEARCH", "CONNECT"})


def body_framing(method: str, body: bytes) -> tuple[str | None, bytes]:
    """The framing header and body bytes Go's `Request.Write` produces for the daemon's copy.

    copyRequest sets `Body = NopCloser(bytes.NewReader(body))` (never nil, never
    http.NoBody) and `ContentLength = len(body)`. A non-empty body gets
    `Content-Length`. An empty one has outgoingLength -1 ("unknown"):
    shouldSendChunkedRequestBody probes the body of GET/HEAD/DELETE/OPTIONS (and
    sends nothing, no header), but assumes POST, PUT and any other method has a body
    and writes it chunked, which for zero bytes is the terminating chunk alone.
    """
    if body:
        return f"Content-Length: {len(body)}", body
    if method in _BODYLESS_METHODS:
        return None, b""
    return "Transfer-Encoding: chunked", b"0\r\n\r\n"
