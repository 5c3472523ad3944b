"""Stand-ins for what Dify hands an endpoint: werkzeug requests and the SDK session.

Nothing here starts a process or opens a socket: the unit tests run in milliseconds.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from werkzeug import Request
from werkzeug.test import EnvironBuilder

if TYPE_CHECKING:
    from dify_plugin.core.runtime import Session


def request(method: str = "GET", path: str = "/", **builder: Any) -> Request:
    """A werkzeug Request as the SDK builds it; `builder` goes to EnvironBuilder
    (query_string=, json=, data=, headers=, content_type=)."""
    return Request(EnvironBuilder(method=method, path=path, **builder).get_environ())


@dataclass
class FakeAppInterface:
    """One of `session.app.chat / .workflow / .completion`.

    Streaming calls yield `events`, then raise `Exception(error)` if `error` is set
    (the SDK raises the daemon's text as a bare Exception while iterating); blocking
    calls return `result` or raise. `raise_on_call` raises when `invoke` is called.
    Every call's keyword arguments are recorded in `calls`.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    raise_on_call: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def invoke(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.raise_on_call and self.error is not None:
            raise Exception(self.error)  # a bare Exception: what the SDK raises
        if kwargs["response_mode"] == "blocking":
            if self.error is not None:
                raise Exception(self.error)  # a bare Exception: what the SDK raises
            return self.result
        return self._stream()

    def _stream(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self.events
            if self.error is not None:
                raise Exception(self.error)  # a bare Exception: what the SDK raises
        finally:
            self.closed = True


@dataclass(frozen=True)
class FakeUploaded:
    """What `session.file.upload` returns (the SDK's UploadFileResponse): the fields the
    endpoints read, and `to_app_parameter()` with the SDK's MIME-type rule."""

    id: str
    name: str
    size: int
    extension: str
    mime_type: str

    def to_app_parameter(self) -> dict[str, Any]:
        kind = next((k for k in ("image", "video", "audio") if self.mime_type.startswith(f"{k}/")), "document")
        return {"tool_file_id": self.id, "transfer_method": "tool_file", "type": kind}


@dataclass
class FakeFileUpload:
    """`session.file.upload`: records `(filename, content, mimetype)` of every call and
    answers as Dify does (the extension from the MIME type, ".bin" if none). With
    `error`, the call numbered `fail_at` (0: the first) raises it instead, as the SDK
    raises a failed reverse call or a refused signed URL."""

    uploads: list[tuple[str, bytes, str]] = field(default_factory=list)
    error: Exception | None = None
    fail_at: int = 0

    def upload(self, filename: str, content: bytes, mimetype: str) -> FakeUploaded:
        if self.error is not None and len(self.uploads) == self.fail_at:
            raise self.error
        self.uploads.append((filename, content, mimetype))
        extension = mimetypes.guess_extension(mimetype) or ".bin"
        return FakeUploaded(str(uuid.uuid4()), filename, len(content), extension, mimetype)


@dataclass
class FakeFetchApp:
    """`session.app.fetch_app`: answers `parameters` (or raises `Exception(error)`), and
    records the app ids asked for."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    calls: list[str] = field(default_factory=list)

    def __call__(self, app_id: str) -> Mapping[str, Any]:
        self.calls.append(app_id)
        if self.error is not None:
            raise Exception(self.error)  # a bare Exception: what the SDK raises
        return self.parameters


@dataclass
class FakeStorage:
    """`session.storage` as the daemon answers it: `get` of a missing key fails (it does
    not return None), and every failure is a bare Exception. `error` makes every call
    fail with that text (a full quota, a daemon down); `calls` records (operation, key)."""

    values: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _call(self, operation: str, key: str) -> None:
        self.calls.append((operation, key))
        if self.error is not None:
            raise Exception(self.error)  # a bare Exception: what the SDK raises

    def get(self, key: str) -> bytes:
        self._call("get", key)
        if key not in self.values:
            raise Exception("load data failed, please check if the key is correct or you have not set it")
        return self.values[key]

    def set(self, key: str, val: bytes) -> None:
        self._call("set", key)
        self.values[key] = val

    def exist(self, key: str) -> bool:
        self._call("exist", key)
        return key in self.values

    def delete(self, key: str) -> None:
        self._call("del", key)
        self.values.pop(key, None)


def fake_session(
    chat: FakeAppInterface | None = None,
    workflow: FakeAppInterface | None = None,
    completion: FakeAppInterface | None = None,
    *,
    files: FakeFileUpload | None = None,
    fetch_app: FakeFetchApp | None = None,
    storage: FakeStorage | None = None,
) -> Session:
    """A session whose `app.chat/workflow/completion`, `app.fetch_app`, `file.upload`
    and `storage` are the given fakes (fresh ones by default)."""
    app = SimpleNamespace(
        chat=chat or FakeAppInterface(),
        workflow=workflow or FakeAppInterface(),
        completion=completion or FakeAppInterface(),
        fetch_app=fetch_app or FakeFetchApp(),
    )
    return cast("Session", SimpleNamespace(app=app, file=files or FakeFileUpload(), storage=storage or FakeStorage()))
