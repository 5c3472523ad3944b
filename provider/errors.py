"""Every failure a client can see, as a named exception carrying its HTTP status.

Endpoints raise these; `provider.http` turns them into responses in one place, so
no exception text of ours (and no traceback) ever reaches a client.
"""

from __future__ import annotations


class GalleryError(Exception):
    """Base: `code` is stable for programs, `message` says what to do, for people."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(GalleryError):
    """The request itself is wrong; the message says how to fix it."""

    status = 400
    code = "bad_request"


class Unauthorized(GalleryError):
    status = 401
    code = "unauthorized"


class AppNotConfigured(GalleryError):
    """The endpoint's app setting is empty or invalid: the workspace owner must fix it."""

    status = 503
    code = "app_not_configured"


class AppFailed(GalleryError):
    """The Dify app (or the call to it) failed. `status` depends on whose fault it is."""

    status = 502
    code = "app_failed"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status
