"""Cross-origin access (CORS) for web apps on other origins, from the `allowed_origins` setting.

A browser lets a page on `https://app.example` read a response of this endpoint only
if the response names that origin in `Access-Control-Allow-Origin`; before a `fetch`
that sends `Authorization` or JSON it first asks with an `OPTIONS` preflight. The
workspace owner lists the origins allowed (or `*`); default: none, so no CORS header
is ever sent and browsers keep other origins out.

- `parse_allowed_origins(raw)`: the setting, checked (`AppNotConfigured` naming it).
- `@cors.allow_origins` on an endpoint's `_invoke`: every response it returns
  (streams and errors included) gets the headers when the request's `Origin` is
  allowed, and none otherwise.
- `preflight(r, allowed, methods)`: the answer to an `OPTIONS` preflight.

The headers only tell the browser what it may show; they are no access control. The
API key (`Authorization: Bearer`) still guards every route.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from werkzeug import Request, Response

from provider.errors import AppNotConfigured
from provider.limits import CORS_MAX_AGE_SECONDS

#: The setting's name in the group file.
ALLOWED_ORIGINS: Final = "allowed_origins"
#: Request headers a cross-origin page may send: the API key, a JSON body, and the
#: header an EventSource adds when it reconnects.
ALLOWED_HEADERS: Final = "Authorization, Content-Type, Last-Event-ID"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True)
class AllowedOrigins:
    """`any_origin` for `*`; else the exact origins (`scheme://host[:port]`, lower case)."""

    origins: frozenset[str] = frozenset()
    any_origin: bool = False

    def allows(self, origin: str | None) -> bool:
        if not origin:
            return False
        return self.any_origin or origin.lower() in self.origins

    def headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers of a response to a request from `origin` ({} when not allowed)."""
        if origin is None or not self.allows(origin):
            return {}
        return {"Access-Control-Allow-Origin": "*" if self.any_origin else origin, "Vary": "Origin"}


NO_ORIGIN: Final = AllowedOrigins()


def parse_allowed_origins(raw: object) -> AllowedOrigins:
    """The `allowed_origins` setting: empty for none, `*` for any, else comma-separated
    origins such as `https://app.example.com, http://localhost:3000`. A trailing `/` and
    a default port are forgiven (browsers send neither); anything else that is not an
    origin is AppNotConfigured, naming the setting and the entry's position, never its text."""
    if raw is None or str(raw).strip() == "":
        return NO_ORIGIN
    entries = [entry.strip() for entry in str(raw).split(",")]
    if entries == ["*"]:
        return AllowedOrigins(any_origin=True)
    origins = set()
    for position, entry in enumerate(entries, start=1):
        origin = _origin(entry)
        if origin is None:
            raise AppNotConfigured(
                f"The endpoint's `{ALLOWED_ORIGINS}` setting must be `*` or comma-separated origins like "
                f"`https://app.example.com, http://localhost:3000` (scheme and host, an optional port, no path); "
                f"entry {position} is not an origin."
            )
        origins.add(origin)
    return AllowedOrigins(origins=frozenset(origins))


def _origin(entry: str) -> str | None:
    """`entry` as a browser writes it in `Origin`, or None if it is not an http(s) origin."""
    try:
        parts = urlsplit(entry[:-1] if entry.endswith("/") else entry)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.path or parts.query or parts.fragment:
        return None
    if parts.username is not None or parts.password is not None or " " in entry:
        return None
    netloc = f"[{host}]" if ":" in host else host  # IPv6 literals keep their brackets
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def allowed_origins_of(settings: Mapping[str, Any]) -> AllowedOrigins:
    """The setting, or none allowed when it is invalid (the endpoint itself reports
    that: `EndpointSettings.parse` raises)."""
    try:
        return parse_allowed_origins(settings.get(ALLOWED_ORIGINS))
    except AppNotConfigured:
        return NO_ORIGIN


def add_headers(response: Response, headers: Mapping[str, str]) -> Response:
    """Set `headers` on `response`, adding to an existing `Vary` instead of replacing it."""
    for name, value in headers.items():
        if name == "Vary" and response.headers.get("Vary"):
            present = {v.strip().lower() for v in response.headers["Vary"].split(",")}
            if value.lower() not in present:
                response.headers["Vary"] = f"{response.headers['Vary']}, {value}"
        else:
            response.headers[name] = value
    return response


#: An endpoint's `_invoke(self, r, values, settings)`.
type Invoke[E] = Callable[[E, Request, Mapping, Mapping], Response]


def allow_origins[E](invoke: Invoke[E]) -> Invoke[E]:
    """Decorate an endpoint's `_invoke`: each response it returns gets the CORS headers
    the request's `Origin` earns (headers go out with a stream's first chunk, so
    streams carry them too)."""

    @functools.wraps(invoke)
    def invoke_with_cors(self: E, r: Request, values: Mapping, settings: Mapping) -> Response:
        response = invoke(self, r, values, settings)
        return add_headers(response, allowed_origins_of(settings).headers(r.headers.get("Origin")))

    return invoke_with_cors


def preflight(
    r: Request,
    allowed: AllowedOrigins,
    methods: Sequence[str] = ("GET", "POST"),
    headers: Sequence[str] = (),
) -> Response:
    """204 to an `OPTIONS` request: `Allow` for anyone, the CORS preflight headers only
    for an allowed `Origin` (a browser then sends the real request; without them it
    refuses to). `headers`: request headers a route reads beyond ALLOWED_HEADERS (an MCP
    route's `Accept` and `MCP-Protocol-Version`, say)."""
    response = Response(status=204, headers={"Allow": ", ".join([*methods, "OPTIONS"])})
    cors_headers = allowed.headers(r.headers.get("Origin"))
    if cors_headers:
        cors_headers |= {
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ", ".join([ALLOWED_HEADERS, *headers]),
            "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
        }
    return add_headers(response, cors_headers)
