"""Every failure a client can see, as a named exception carrying its HTTP status.

Endpoints raise these (or let provider functions raise them) and catch the base,
`EndpointError`, in one place per endpoint; `provider.http` turns it into a response,
so no exception text of ours (and no traceback) ever reaches a client. The `code`s are
part of the endpoints' documented API: change a message freely, never a code.
"""

from __future__ import annotations


class EndpointError(Exception):
    """Base: `code` is stable for programs, `message` says what to do, for people."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(EndpointError):
    """The request itself is wrong; the message says how to fix it."""

    status = 400
    code = "bad_request"


class Unauthorized(EndpointError):
    """The request lacks the endpoint's API key, or carries a wrong one.

    `scheme` is the HTTP authentication scheme the 401 challenges with
    (`WWW-Authenticate: <scheme> realm=...`, RFC 9110). It is "Bearer" for the kit's
    API keys; a 401 of another kind of check (a request signature, see
    provider.signatures) passes `scheme=None` and claims no scheme it does not speak.
    """

    status = 401
    code = "unauthorized"
    scheme: str | None = "Bearer"

    def __init__(self, message: str, *, code: str | None = None, scheme: str | None = "Bearer") -> None:
        super().__init__(message, code=code)
        self.scheme = scheme


class AppNotConfigured(EndpointError):
    """A setting of the endpoint is empty or invalid: the workspace owner must fix it."""

    status = 503
    code = "app_not_configured"


class AppFailed(EndpointError):
    """The Dify app (or the call to it) failed. `status` depends on whose fault it is."""

    status = 502
    code = "app_failed"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status


class BodyTruncated(BadRequest):
    """A multipart body that ends before its closing boundary: the platform cut it on
    the way (Dify's daemon passes at most 10 MiB of a body, silently), so what
    arrived is not what the client sent and no part of it may be used."""

    code = "body_truncated"


class FileRejected(BadRequest):
    """A file the app's own input form does not accept (the `code` names the rule);
    refused before anything is uploaded."""

    code = "file_rejected"


class FileTooLarge(EndpointError):
    """A file over the endpoint's per-file limit (the `max_file_mb` setting)."""

    status = 413
    code = "file_too_large"


class FileUploadFailed(EndpointError):
    """Dify did not take a file (the upload reverse call or its signed URL failed);
    the app is not called with a file missing."""

    status = 502
    code = "file_upload_failed"
