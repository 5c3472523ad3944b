"""MCP's JSON-RPC messages over Streamable HTTP, read statelessly, and its errors.

A Dify endpoint keeps nothing between requests (serverless: each request may reach
another plugin instance), so every POST is read on its own:

- **2026-07-28** (stateless revision): each request carries its protocol version and
  client capabilities in `params._meta` (`io.modelcontextprotocol/protocolVersion`,
  `io.modelcontextprotocol/clientCapabilities`), repeated in the `MCP-Protocol-Version`
  and `Mcp-Method` headers (`Mcp-Name` too for `tools/call`). A header that disagrees
  with the body is `HEADER_MISMATCH` (-32020), a version not served is
  `UNSUPPORTED_PROTOCOL_VERSION` (-32022, `data: {supported, requested}`); a client
  finds the version with `server/discover`. (Read from the specification and the
  `mcp` SDK's `mcp/shared/inbound.py`, whose checks run in the same order.)
- **2025-11-25 / 2025-06-18**: a client starts with `initialize`; we answer it and issue
  no `Mcp-Session-Id`, so the client sends every later request without one, each with
  `MCP-Protocol-Version`, and each is answered on its own.

JSON-RPC batches were removed in 2025-06-18 and are refused (-32600). Every error
here is an `EndpointError` (`McpError`) whose `status` is the HTTP status the SDK's
server table gives its code (400, 404 for an unknown method): never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from werkzeug import Request

from provider.cors import ALLOWED_ORIGINS, AllowedOrigins
from provider.errors import EndpointError
from provider.parsing import request_body

#: Revisions served statelessly, by `_meta` envelope (newest last).
MODERN_VERSIONS: Final = ("2026-07-28",)
#: Revisions served to clients that send `initialize` (newest first: the counter-offer).
HANDSHAKE_VERSIONS: Final = ("2025-11-25", "2025-06-18")
SUPPORTED_VERSIONS: Final = (*MODERN_VERSIONS, *HANDSHAKE_VERSIONS)

PROTOCOL_VERSION_KEY: Final = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY: Final = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY: Final = "io.modelcontextprotocol/serverInfo"

VERSION_HEADER: Final = "MCP-Protocol-Version"
METHOD_HEADER: Final = "Mcp-Method"
NAME_HEADER: Final = "Mcp-Name"

# JSON-RPC 2.0 and MCP error codes (the 2026-07-28 schema allocates -32020 upwards).
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
HEADER_MISMATCH: Final = -32020
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022
#: Implementation-defined (-32000..-32019): an error of the endpoint, not of the
#: protocol (a missing API key, an app setting to fix); `data.code` is its stable code.
ENDPOINT_ERROR: Final = -32000

RequestId = str | int


class McpError(EndpointError):
    """A protocol mistake, answered as a JSON-RPC error with `rpc_code`. `request_id`
    is the request's id when it could be read (else the answer carries `id: null`);
    `data` is the error's `data` member when the specification defines one."""

    status = 400
    code = "invalid_request"
    rpc_code = INVALID_REQUEST

    def __init__(self, message: str, *, request_id: RequestId | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.data = data


class ParseError(McpError):
    code = "parse_error"
    rpc_code = PARSE_ERROR


class InvalidRequest(McpError):
    code = "invalid_request"
    rpc_code = INVALID_REQUEST


class MethodNotFound(McpError):
    status = 404
    code = "method_not_found"
    rpc_code = METHOD_NOT_FOUND


class InvalidParams(McpError):
    code = "invalid_params"
    rpc_code = INVALID_PARAMS


class HeaderMismatch(McpError):
    code = "header_mismatch"
    rpc_code = HEADER_MISMATCH


class UnsupportedVersion(McpError):
    code = "unsupported_protocol_version"
    rpc_code = UNSUPPORTED_PROTOCOL_VERSION


class NotAcceptable(McpError):
    """The client's `Accept` names neither JSON nor SSE (clients must list both)."""

    status = 406
    code = "not_acceptable"


class OriginNotAllowed(EndpointError):
    """A browser page on an origin the endpoint does not allow (DNS-rebinding guard)."""

    status = 403
    code = "origin_not_allowed"


class MethodNotAllowed(EndpointError):
    """`GET` (a server-to-client stream) and `DELETE` (ending a session): a stateless
    server has neither, and the transport says to answer 405."""

    status = 405
    code = "method_not_allowed"


@dataclass(frozen=True)
class Message:
    """One JSON-RPC request (`id` set) or notification (`id` None), checked.

    `version` is the revision it speaks: the envelope's for a 2026-07-28 request
    (`modern`), else the `MCP-Protocol-Version` header's (None when absent: before
    `initialize`, or a client of 2025-03-26 that sends none)."""

    method: str
    id: RequestId | None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    version: str | None = None
    modern: bool = False

    @property
    def is_notification(self) -> bool:
        return self.id is None

    @property
    def meta(self) -> Mapping[str, Any]:
        meta = self.params.get("_meta")
        return meta if isinstance(meta, Mapping) else {}


def parse(r: Request) -> Message:
    """The POST body as one checked JSON-RPC message; McpError naming what is wrong."""
    raw = request_body(r)
    if not raw.strip():
        raise ParseError('The body is empty: send one JSON-RPC request, e.g. {"jsonrpc": "2.0", "id": 1, ...}.')
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ParseError("The body is not valid JSON (UTF-8): send one JSON-RPC request object.") from None
    return read_message(body, {name.lower(): value for name, value in r.headers.items()})


def read_message(body: Any, headers: Mapping[str, str]) -> Message:
    """Check a decoded body (JSON-RPC 2.0 shape, then the protocol revision's rules);
    `headers` by lower-case name."""
    if isinstance(body, list):
        raise InvalidRequest(
            "JSON-RPC batches are not supported (MCP removed them in 2025-06-18): send one request per POST."
        )
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be one JSON-RPC request object.")
    request_id = _request_id(body)
    if body.get("jsonrpc") != "2.0":
        raise InvalidRequest('`jsonrpc` must be "2.0".', request_id=request_id)
    method = body.get("method")
    if "method" not in body and ("result" in body or "error" in body):
        raise InvalidRequest("This server sends no requests, so it takes no responses.", request_id=request_id)
    if not isinstance(method, str) or not method:
        raise InvalidRequest("`method` must be a non-empty string.", request_id=request_id)
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidParams("`params` must be an object.", request_id=request_id)
    if "id" not in body:
        if method.startswith("notifications/"):
            return Message(method=method, id=None, params=params)
        raise InvalidRequest(
            f"`{method}` is a request: give it an `id` (a string or an integer) to get an answer.",
        )
    if request_id is None:
        raise InvalidRequest("`id` must be a string or an integer (not null, a fraction or a boolean).")
    if _speaks_modern(method, params, headers):
        return _modern(method, request_id, params, headers)
    return _handshake_era(method, request_id, params, headers)


def _request_id(body: Mapping[str, Any]) -> RequestId | None:
    value = body.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return value


def _speaks_modern(method: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
    """A 2026-07-28 request: `server/discover`, an envelope version in `_meta`, or a
    version header of that era (whose missing envelope is then reported)."""
    meta = params.get("_meta")
    return (
        method == "server/discover"
        or (isinstance(meta, Mapping) and PROTOCOL_VERSION_KEY in meta)
        or headers.get(VERSION_HEADER.lower()) in MODERN_VERSIONS
    )


def _modern(method: str, request_id: RequestId, params: Mapping[str, Any], headers: Mapping[str, str]) -> Message:
    """The 2026-07-28 checks, in the specification's order: the envelope, the headers
    against the body, then whether the version is served."""
    meta = params.get("_meta")
    if not isinstance(meta, Mapping) or PROTOCOL_VERSION_KEY not in meta or CLIENT_CAPABILITIES_KEY not in meta:
        raise InvalidParams(
            f"`params._meta` must carry `{PROTOCOL_VERSION_KEY}` and `{CLIENT_CAPABILITIES_KEY}` "
            "(protocol 2026-07-28 sends them with every request).",
            request_id=request_id,
        )
    version = meta[PROTOCOL_VERSION_KEY]
    if headers.get(VERSION_HEADER.lower()) is None or headers.get(VERSION_HEADER.lower()) != version:
        raise HeaderMismatch(
            f"The `{VERSION_HEADER}` header must equal `params._meta[{PROTOCOL_VERSION_KEY!r}]`.",
            request_id=request_id,
        )
    if headers.get(METHOD_HEADER.lower()) != method:
        raise HeaderMismatch(f"The `{METHOD_HEADER}` header must equal the body's `method`.", request_id=request_id)
    name = params.get("name") if method == "tools/call" else None
    if name is not None and decode_header_value(headers.get(NAME_HEADER.lower())) != name:
        raise HeaderMismatch(f"The `{NAME_HEADER}` header must equal the body's `params.name`.", request_id=request_id)
    if not isinstance(version, str):
        raise InvalidParams("The protocol version in `params._meta` must be a string.", request_id=request_id)
    if version not in MODERN_VERSIONS:
        raise unsupported(version, request_id)
    return Message(method=method, id=request_id, params=params, version=version, modern=True)


def _handshake_era(
    method: str, request_id: RequestId, params: Mapping[str, Any], headers: Mapping[str, str]
) -> Message:
    """A request of a client that started with `initialize` (or is sending it now)."""
    version = headers.get(VERSION_HEADER.lower())
    if method != "initialize" and version is not None and version not in HANDSHAKE_VERSIONS:
        raise unsupported(version, request_id)
    return Message(method=method, id=request_id, params=params, version=version)


def unsupported(requested: str, request_id: RequestId | None) -> UnsupportedVersion:
    return UnsupportedVersion(
        f"Protocol version {requested[:40]!r} is not supported; this server speaks {', '.join(SUPPORTED_VERSIONS)}.",
        request_id=request_id,
        data={"supported": list(SUPPORTED_VERSIONS), "requested": requested},
    )


def check_origin(r: Request, allowed: AllowedOrigins) -> None:
    """The transport's rule (2025-06-18 and later, "Security Warning"): an `Origin` that is
    present and not valid is answered 403. Valid: an origin of the `allowed_origins`
    setting, or the endpoint's own (from the `Dify-Hook-Url` the daemon sends). Clients
    that are not browsers send no `Origin` and are not concerned."""
    origin = r.headers.get("Origin")
    if origin is None or allowed.allows(origin) or origin.lower() == _own_origin(r):
        return
    raise OriginNotAllowed(
        "Pages on this origin may not call this MCP server: the workspace owner can add the origin to the "
        f"endpoint's `{ALLOWED_ORIGINS}` setting."
    )


def _own_origin(r: Request) -> str | None:
    try:
        parts = urlsplit(r.headers.get("Dify-Hook-Url", ""))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def decode_header_value(value: str | None) -> str | None:
    """A header value, or the text inside its `=?base64?...?=` wrapper (how clients send
    names that are not printable ASCII); None for a malformed wrapper."""
    if value is None or not (value.startswith("=?base64?") and value.endswith("?=")):
        return value
    try:
        return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def accepts(r: Request) -> tuple[bool, bool]:
    """Whether the client takes JSON and SSE. No `Accept` (curl) takes both; clients
    must list both, so a list naming neither is refused (NotAcceptable)."""
    header = r.headers.get("Accept")
    if not header:
        return True, True
    json_ok = r.accept_mimetypes.find("application/json") != -1
    sse_ok = r.accept_mimetypes.find("text/event-stream") != -1
    wildcard = "*/*" in header
    return json_ok or wildcard, sse_ok or wildcard


def error_body(error: EndpointError, request_id: RequestId | None) -> dict[str, Any]:
    """The JSON-RPC error object for `error`: a protocol error with its code (and
    its `data` when the specification defines one), any other endpoint error as
    ENDPOINT_ERROR with `data.code`, its stable code."""
    if isinstance(error, McpError):
        data = error.data if error.data is not None else {"code": error.code}
        rpc_code = error.rpc_code
        request_id = error.request_id if error.request_id is not None else request_id
    else:
        data, rpc_code = {"code": error.code}, ENDPOINT_ERROR
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": rpc_code, "message": error.message, "data": data}}
