"""`AppCallError`: an app call failing the way Dify's API reports it."""

from __future__ import annotations

import json
from typing import Any

from dify_plugin_devkit._errors import DevkitError

#: What Dify's API answers for an exception it has no handler for (libs/external_api.py:
#: flask-restx's generic handler; the exception's own text is only logged).
SERVER_ERROR_BODY: dict[str, Any] = {"message": "Internal Server Error", "code": "unknown", "status": 500}


class AppCallError(DevkitError):
    """An app call failed the way Dify's API reports it.

    `status` is the HTTP status Dify's API answers with before streaming (400 for the
    ValueErrors of request checks, 500 for anything else), or None when the call broke
    after it began (the stream failing mid-way). `body()` is Dify's error JSON.
    """

    message: str
    status: int | None
    code: str

    def __init__(
        self,
        message: str,
        status: int | None = 400,
        code: str = "invalid_param",
        body: dict[str, Any] | None = None,
        *,
        body_text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self._body = body if body is not None else {"code": code, "message": message, "status": status}
        # the error body exactly as a real Dify sent it (apps reached through the Service API)
        self.body_text = body_text

    @classmethod
    def invalid_param(cls, message: str) -> AppCallError:
        """What a ValueError inside Dify's app invocation turns into (ExternalApi's handler)."""
        return cls(message, status=400, code="invalid_param")

    @classmethod
    def server_error(cls, detail: str) -> AppCallError:
        """Any other exception: 500 with Dify's fixed body; `detail` (the exception's own
        text, which Dify only logs) is kept for the devkit's repr."""
        error = cls(str(SERVER_ERROR_BODY["message"]), status=500, code="unknown", body=dict(SERVER_ERROR_BODY))
        error.detail = detail
        return error

    @classmethod
    def transport(cls, message: str) -> AppCallError:
        """The stream broke after it began (Dify's generator raised, or the connection dropped)."""
        return cls(message, status=None, code="stream_failed", body={})

    detail: str = ""

    def body(self) -> dict[str, Any]:
        """Dify's API error JSON (key order as Dify writes it)."""
        return dict(self._body)

    def response_text(self) -> str:
        """The error body as Dify's API sends it: the real one when there is one, else the
        JSON as Dify 1.13.2 writes it: compact, `/` escaped as `\\/`, plus a newline
        (recorded: tests/fixtures/real-dify-1.13.2/inner-api/*.body)."""
        if self.body_text is not None:
            return self.body_text
        return json.dumps(self._body, separators=(",", ":")).replace("/", "\\/") + "\n"

    def __repr__(self) -> str:
        return f"AppCallError({self.message!r}, status={self.status!r}, code={self.code!r})"


class AppUnreachableError(AppCallError):
    """No answer of Dify's API to quote: the connection failed before the stream began
    (`invoke app failed: <reason>`) or broke during it (`read app failed: <reason>`).

    `reason` is worded as the daemon's Go HTTP client words it (`Post "<url>": dial tcp
    <addr>: connect: connection refused`, `unexpected EOF`), because that is the text a
    plugin sees inside Dify when Dify's API cannot be reached.
    """

    def __init__(self, reason: str, *, mid_stream: bool) -> None:
        super().__init__(reason, status=None, code="unreachable", body={})
        self.reason = reason
        self.mid_stream = mid_stream
