"""Real apps of a self-hosted Dify, reached through the inner API its plugin daemon calls.

The Service API is all Dify Cloud offers, and it answers differently from what a plugin
receives inside Dify (see `service_api.py`). A self-hosted Dify also serves the inner
API (`/inner/api/...` on its API container, port 5001, not behind nginx) that Dify's
plugin daemon calls for a plugin's `session.app.*`, `fetch_app` and `session.file.upload`.
An app declared as

    apps:
      - id: my-flow                       # what endpoint settings refer to
        inner_api:
          base_url: http://localhost:5001  # the API container (not the web port)
          api_key: ${DIFY_INNER_API_KEY}   # INNER_API_KEY_FOR_PLUGIN of the API container
          tenant_id: ${DIFY_TENANT_ID}     # the workspace the app is in
          app_id: ${DIFY_APP_ID}           # optional: Dify's app id (default: `id`)

is called the way the daemon calls it (dify-plugin-daemon
internal/core/dify_invocation/calldify/http_request.go): `POST /inner/api/invoke/app`,
`/inner/api/fetch/app/info`, `/inner/api/upload/file/request`, header
`X-Inner-Api-Key`, JSON body `{tenant_id, user_id, type: "app", ...the plugin's
request}`. Dify answers a run as length-prefixed frames
(api/libs/length_prefixed_response.py: byte 0 0x0f, bytes 2-3 the header length, bytes
4-7 the data length, little-endian, then `{"data": <event>, "error": ""}`), a refusal as
a plain HTTP error; the plugin receives each frame's `data` and Dify's refusal exactly
as recorded from Dify 1.13.2 (tests/fixtures/real-dify-1.13.2/inner-api/). Nothing to
repair: this is what production does.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dify_plugin_devkit._console import say
from dify_plugin_devkit._errors import ConfigError

from .errors import AppCallError, AppUnreachableError
from .service_api import CONNECT_TIMEOUT, SecretInConfigError, answer, base_url_of, expand

#: The daemon's header for the inner API (calldify: `X-Inner-Api-Key`).
KEY_HEADER = "X-Inner-Api-Key"
PREFIX = "/inner/api"
#: The first byte of every frame (`length_prefixed_response(0xF, ...)` in Dify's plugin controller).
FRAME_MAGIC = 0x0F
#: Magic, a reserved byte and the 2-byte header length come before the header.
_PRELUDE = 4
_APP_KEYS = frozenset({"id", "name", "inner_api"})
_INNER_KEYS = frozenset({"base_url", "api_key", "tenant_id", "app_id", "user_id"})
_VAR = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

Event = dict[str, Any]


class FrameError(ValueError):
    """Bytes that are not Dify's length-prefixed frames."""


@dataclass(frozen=True)
class InnerApiApp:
    """A real app of a self-hosted Dify, reached through its inner API."""

    id: str
    base_url: str  # the API container, e.g. http://localhost:5001 (no /inner/api)
    api_key: str = field(repr=False)
    key_variable: str
    tenant_id: str
    app_id: str  # Dify's id of the app
    user_id: str = ""  # the daemon sends the session's user; "" runs as Dify's DEFAULT-USER
    name: str = ""

    def url(self, path: str) -> str:
        return self.base_url + PREFIX + path

    def identity(self) -> dict[str, Any]:
        """The fields the daemon puts first in every inner-API body (BaseInvokeDifyRequest)."""
        return {"tenant_id": self.tenant_id, "user_id": self.user_id, "type": "app"}


# --- configuration ----------------------------------------------------------------------


def is_inner_api_entry(entry: object) -> bool:
    """Whether an `apps:` entry of the configuration declares an app reached through the inner API."""
    return isinstance(entry, Mapping) and "inner_api" in entry


def parse_inner_app(raw: Mapping[str, Any], where: str, env: Mapping[str, str], dotenv: Path | None) -> InnerApiApp:
    """One `inner_api:` entry, its `${VAR}`s expanded. ConfigError naming the file, the
    app and the field (SecretInConfigError for a key written into the file)."""
    app_id = raw.get("id")
    if not isinstance(app_id, str) or not app_id:
        raise ConfigError(f"{where}: a real app needs an `id` string (what endpoint settings refer to)")
    where = f"{where} (id {app_id!r})"
    unknown = sorted(set(raw) - _APP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]}: unknown key; an inner_api app has {sorted(_APP_KEYS)}")
    inner = raw["inner_api"]
    if not isinstance(inner, Mapping):
        raise ConfigError(f"{where}: inner_api: expected a mapping with base_url, api_key and tenant_id")
    unknown = sorted(set(inner) - _INNER_KEYS)
    if unknown:
        raise ConfigError(f"{where}: inner_api.{unknown[0]}: unknown key; expected {sorted(_INNER_KEYS)}")
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name: expected a string")

    key_raw = inner.get("api_key")
    named = _VAR.match(key_raw.strip()) if isinstance(key_raw, str) else None
    if named is None:
        raise SecretInConfigError(
            f"{where}: inner_api.api_key: write the key as `${{VAR}}` (e.g. `api_key: ${{DIFY_INNER_API_KEY}}`) "
            "and set VAR in the environment or in a .env file next to this configuration; "
            "the inner API key opens every workspace of that Dify and must not be committed"
        )
    variable = named.group(1)
    api_key = expand(variable, env, f"{where}: inner_api.api_key", dotenv)
    example = "http://localhost:5001 (the API container, not Dify's web port)"
    base_url = base_url_of(inner.get("base_url"), env, f"{where}: inner_api.base_url", dotenv, example)
    base_url = base_url.removesuffix(PREFIX).rstrip("/")
    tenant_id = _id_field(inner, "tenant_id", env, where, dotenv, required=True)
    dify_app_id = _id_field(inner, "app_id", env, where, dotenv, required=False) or app_id
    user_id = _id_field(inner, "user_id", env, where, dotenv, required=False)
    return InnerApiApp(app_id, base_url, api_key, variable, tenant_id, dify_app_id, user_id, name)


def _id_field(
    inner: Mapping[str, Any], key: str, env: Mapping[str, str], where: str, dotenv: Path | None, *, required: bool
) -> str:
    raw = inner.get(key)
    if raw is None and not required:
        return ""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: inner_api.{key}: expected a string (an id, or `${{VAR}}` naming one)")
    named = _VAR.match(raw.strip())
    return expand(named.group(1), env, f"{where}: inner_api.{key}", dotenv) if named else raw.strip()


def describe_inner_apps(apps: Iterable[InnerApiApp]) -> list[str]:
    """Console lines for `dify-devkit run`: each app's Dify and ids, never its key."""
    apps = list(apps)
    if not apps:
        return []
    lines = ["real apps (a self-hosted Dify's inner API, as its plugin daemon calls it):"]
    for app in apps:
        lines.append(
            f"  {app.id}  {app.base_url}{PREFIX}  (app {app.app_id}, tenant {app.tenant_id}; "
            f"key from ${app.key_variable})"
        )
    return lines


# --- frames -----------------------------------------------------------------------------


class FrameReader:
    """Splits Dify's length-prefixed byte stream into frames, whatever the chunking."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """The complete frames' data the bytes so far hold (FrameError if they are not frames)."""
        self._buffer.extend(chunk)
        frames: list[bytes] = []
        while len(self._buffer) >= _PRELUDE:
            if self._buffer[0] != FRAME_MAGIC:
                raise FrameError(f"frame starts with 0x{self._buffer[0]:02x}, not 0x{FRAME_MAGIC:02x}")
            header_length = struct.unpack_from("<H", self._buffer, 2)[0]
            if header_length < 4:
                raise FrameError(f"frame header of {header_length} bytes has no data length")
            if len(self._buffer) < _PRELUDE + header_length:
                break
            data_length = struct.unpack_from("<I", self._buffer, _PRELUDE)[0]
            end = _PRELUDE + header_length + data_length
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[_PRELUDE + header_length : end]))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a frame not complete yet (a stream ending here broke mid-frame)."""
        return len(self._buffer)


def decode_frames(body: bytes) -> list[dict[str, Any]]:
    """A whole recorded body as its frames' JSON (`{"data": ..., "error": ""}` each)."""
    reader = FrameReader()
    frames = [json.loads(frame) for frame in reader.feed(body)]
    if reader.pending:
        raise FrameError(f"{reader.pending} bytes after the last complete frame")
    return frames


# --- calls ------------------------------------------------------------------------------


class InnerApiApps:
    """Calls the inner-API apps of one devkit run."""

    def __init__(self, apps: Iterable[InnerApiApp]) -> None:
        self._apps = {app.id: app for app in apps}

    def get(self, app_id: object) -> InnerApiApp | None:
        return self._apps.get(app_id) if isinstance(app_id, str) else None

    @property
    def apps(self) -> list[InnerApiApp]:
        return list(self._apps.values())

    @property
    def upload_target(self) -> InnerApiApp | None:
        """Where `session.file.upload` goes when inner-API apps are declared: the Dify of
        the first one, so that the plugin's `tool_file` inputs are files that Dify knows."""
        return next(iter(self._apps.values()), None)

    async def invoke(self, app: InnerApiApp, request: Mapping[str, Any]) -> AsyncGenerator[Event, None]:
        """`POST /inner/api/invoke/app`; yield each frame's `data` (streaming: each event,
        blocking: the one answer). AppCallError with Dify's status and exact body for a
        refusal; a frame with an `error` is the daemon's mid-stream failure."""
        async with (
            _client(app) as client,
            answer(client, app, "POST", "/invoke/app", json=_invoke_body(app, request)) as response,
        ):
            reader = FrameReader()
            async for chunk in response.aiter_bytes():
                try:
                    frames = reader.feed(chunk)
                except FrameError as error:
                    say("devkit", f"app '{app.id}': {app.url('/invoke/app')} sent no frames: {error}")
                    raise AppUnreachableError("failed to read system header", mid_stream=True) from None
                for frame in frames:
                    yield _frame_data(app, frame)
            if reader.pending:
                raise AppUnreachableError("unexpected EOF\nfailed to read data", mid_stream=True)

    async def parameters(self, app: InnerApiApp) -> dict[str, Any]:
        """`POST /inner/api/fetch/app/info`: Dify answers `{"data": {"data": <parameters>}}`
        and the daemon hands the plugin the inner dict (recorded: inner_fetch_app_*)."""
        body = {**app.identity(), "user": "", "app_id": app.app_id}
        async with _client(app) as client, answer(client, app, "POST", "/fetch/app/info", json=body) as response:
            envelope = _envelope(app, "/fetch/app/info", await response.aread())
        data = envelope.get("data")
        parameters = data.get("data") if isinstance(data, dict) else None
        if not isinstance(parameters, dict):
            raise AppCallError("data is nil", status=200, code="unknown", body={})
        return parameters

    async def upload_file(self, app: InnerApiApp, request: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /inner/api/upload/file/request`: the signed URL the plugin then POSTs the
        file to (Dify's `/files/upload/for-plugin`), so the file becomes a tool file of that Dify."""
        body = {
            "tenant_id": app.tenant_id,
            "user_id": app.user_id,
            "filename": request.get("filename"),
            "mimetype": request.get("mimetype"),
        }
        path = "/upload/file/request"
        async with _client(app) as client, answer(client, app, "POST", path, json=body) as response:
            envelope = _envelope(app, path, await response.aread())
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise AppCallError("data is nil", status=200, code="unknown", body={})
        return data


def _client(app: InnerApiApp) -> httpx.AsyncClient:
    headers = {KEY_HEADER: app.api_key, "User-Agent": "dify-plugin-devkit"}
    return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT))


def _invoke_body(app: InnerApiApp, request: Mapping[str, Any]) -> dict[str, Any]:
    """The daemon's InvokeAppRequest (dify_invocation/types.go: BaseInvokeDifyRequest and
    InvokeAppSchema): identity, then the plugin's request with Go's zero values for what it
    left out (recorded: requests.tsv, inner_* rows), the app id the configured one."""
    body: dict[str, Any] = {
        **app.identity(),
        "user": request.get("user") or "",
        "app_id": app.app_id,
        "inputs": request.get("inputs") if request.get("inputs") is not None else {},
        "query": request.get("query") or "",
        "response_mode": request.get("response_mode"),
        "conversation_id": request.get("conversation_id") or "",
    }
    return body


def _frame_data(app: InnerApiApp, frame: bytes) -> Event:
    """One frame's `data`; a frame carrying an `error` ends the call as the daemon's
    StreamResponse ends it (`request failed: <error>`, then `read app failed: ...`)."""
    try:
        decoded = json.loads(frame)
    except ValueError:
        say("devkit", f"app '{app.id}': a frame that is not JSON: {frame[:200]!r}")
        raise AppUnreachableError("failed to read system header", mid_stream=True) from None
    error = decoded.get("error") if isinstance(decoded, dict) else None
    if error:
        raise AppCallError.transport(str(error))
    data = decoded.get("data") if isinstance(decoded, dict) else None
    if not isinstance(data, dict):
        raise AppCallError.transport("data is nil")
    return data


def _envelope(app: InnerApiApp, path: str, raw: bytes) -> dict[str, Any]:
    """Dify's BaseBackwardsInvocationResponse `{"data": ..., "error": ""}` of a plain answer."""
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        reason = f"{app.url(path)} answered 200 without a JSON object; is base_url Dify's API container (port 5001)?"
        say("devkit", f"app '{app.id}': {reason}")
        raise AppUnreachableError(reason, mid_stream=False)
    if value.get("error"):
        raise AppCallError(str(value["error"]), status=200, code="unknown", body={})
    return value
