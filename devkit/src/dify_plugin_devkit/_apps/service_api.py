"""Real apps: the plugin's app calls answered by a real Dify through its public Service API.

A plugin author has a Dify workspace (Dify Cloud or self-hosted) with real apps. An app
declared in the devkit configuration as

    apps:
      - id: my-chat
        service_api: {base_url: https://api.dify.ai/v1, api_key: ${DIFY_CHAT_APP_KEY}}
        mode: advanced-chat          # optional: read from GET /info when absent

is called over the Service API instead of being scripted: chat-type apps through
`POST /chat-messages`, workflows through `POST /workflows/run`, completion apps through
`POST /completion-messages`, `fetch_app` through `GET /parameters`. What comes back is
handed to the plugin as Dify's plugin daemon hands it over: each SSE `data:` object as
one event (the `ping` keep-alives dropped), a blocking answer as the one result, and a
failure as the daemon's error text (see `describe_app_error` in `_backwards.py`).

Keys never live in a committed file: `api_key` must be `${VAR}`, read from the
environment or from a `.env` file next to the configuration. Every call runs as one
fixed Service API `user` (DEVKIT_USER), because Dify runs every endpoint call as one
default end user: conversations continue across calls, as they do inside Dify.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from dotenv import dotenv_values
from httpx_sse import EventSource

from dify_plugin_devkit._console import say
from dify_plugin_devkit._errors import ConfigError

from .errors import AppCallError, AppUnreachableError
from .spec import CHAT_MODES

#: The Service API `user` of every call: Dify runs every endpoint call as one default end
#: user, so all visitors of an endpoint share conversations, here as inside Dify.
DEVKIT_USER = "dify-devkit-endpoint-user"
#: The modes a real app may declare (Dify's AppMode values the plugin can call).
MODES = ("chat", "agent-chat", "advanced-chat", "workflow", "completion")
#: The daemon dials Dify's API with a 5 s connect timeout (calldify/http_client.go); it
#: sets no other timer on the request: the 240 s stream cap (`app_stream_timeout`,
#: applied by the caller) bounds everything else.
CONNECT_TIMEOUT = 5.0
#: How the daemon reports a stream that broke mid-way (parser.LengthPrefixedChunking:
#: Go's chunked reader fails with io.ErrUnexpectedEOF while reading the next header).
STREAM_BROKE = "unexpected EOF\nfailed to read system header"
#: Keys of a real app's entry and of its `service_api` mapping.
_APP_KEYS = frozenset({"id", "name", "service_api", "mode"})
_SERVICE_API_KEYS = frozenset({"base_url", "api_key"})
_VAR = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
#: Where a chat, workflow or completion app is run (Dify dispatches by the APP's mode).
_RUN_PATHS = {"workflow": "/workflows/run", "completion": "/completion-messages"}

Event = dict[str, Any]


class SecretInConfigError(ConfigError):
    """A key is written into the devkit configuration instead of named as `${VAR}`:
    configurations are committed, keys must not be."""


@dataclass(frozen=True)
class ServiceApiApp:
    """A real app of a Dify workspace, reached through the Service API with its app key."""

    id: str
    base_url: str  # e.g. https://api.dify.ai/v1, no trailing slash
    api_key: str = field(repr=False)
    key_variable: str  # the `${VAR}` it came from: what the console may show
    mode: str | None = None  # None: read from GET /info at the first call
    name: str = ""

    def url(self, path: str) -> str:
        return self.base_url + path


# --- configuration ----------------------------------------------------------------------


def is_service_api_entry(entry: object) -> bool:
    """Whether an `apps:` entry of the configuration declares a real app."""
    return isinstance(entry, Mapping) and "service_api" in entry


def read_env(config_dir: Path | None) -> dict[str, str]:
    """The variables `${VAR}` may name: `.env` next to the configuration, then the
    environment (which wins, as with python-dotenv's default)."""
    values: dict[str, str] = {}
    dotenv = config_dir / ".env" if config_dir is not None else None
    if dotenv is not None and dotenv.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    values.update(os.environ)
    return values


def parse_service_app(raw: Mapping[str, Any], where: str, env: Mapping[str, str], dotenv: Path | None) -> ServiceApiApp:
    """One real app entry, its `${VAR}`s expanded. ConfigError (SecretInConfigError for a
    literal key) naming the file, the app and the field; never repeating a key."""
    app_id = raw.get("id")
    if not isinstance(app_id, str) or not app_id:
        raise ConfigError(f"{where}: a real app needs an `id` string (what endpoint settings refer to)")
    where = f"{where} (id {app_id!r})"
    unknown = sorted(set(raw) - _APP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]}: unknown key; a real app has {sorted(_APP_KEYS)}")
    service_api = raw["service_api"]
    if not isinstance(service_api, Mapping) or set(service_api) - _SERVICE_API_KEYS:
        raise ConfigError(f"{where}: service_api: expected a mapping with base_url and api_key")
    mode = raw.get("mode")
    if mode is not None and mode not in MODES:
        raise ConfigError(f"{where}: mode: expected one of {list(MODES)}, got {mode!r}")
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name: expected a string")

    api_key_raw = service_api.get("api_key")
    named = _VAR.match(api_key_raw.strip()) if isinstance(api_key_raw, str) else None
    if named is None:
        raise SecretInConfigError(
            f"{where}: service_api.api_key: write the key as `${{VAR}}` (e.g. `api_key: ${{DIFY_APP_KEY}}`) "
            "and set VAR in the environment or in a .env file next to this configuration; "
            "a key written into the configuration would be committed with it"
        )
    variable = named.group(1)
    api_key = _expand(variable, env, f"{where}: service_api.api_key", dotenv)
    base_url = _base_url(service_api.get("base_url"), env, f"{where}: service_api.base_url", dotenv)
    return ServiceApiApp(app_id, base_url, api_key, variable, mode, name)


def _expand(variable: str, env: Mapping[str, str], where: str, dotenv: Path | None) -> str:
    value = env.get(variable, "")
    if not value:
        place = f" or in {dotenv}" if dotenv is not None else ""
        raise ConfigError(f"{where}: ${{{variable}}} is not set: export {variable}=...{place}")
    return value


def _base_url(raw: object, env: Mapping[str, str], where: str, dotenv: Path | None) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: expected the Service API URL, e.g. https://api.dify.ai/v1 or http://<host>/v1")
    text = raw.strip()
    named = _VAR.match(text)
    if named:
        text = _expand(named.group(1), env, where, dotenv)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: expected an http(s) URL such as https://api.dify.ai/v1, got {text!r}")
    return text.rstrip("/")


def describe_apps(apps: Iterable[ServiceApiApp]) -> list[str]:
    """Console lines for `dify-devkit run`: each real app's URL and mode, never its key."""
    apps = list(apps)
    if not apps:
        return []
    lines = [f"real apps (Dify Service API, every call as user '{DEVKIT_USER}'):"]
    for app in apps:
        mode = app.mode or "mode read from GET /info at the first call"
        lines.append(f"  {app.id}  {app.base_url}  ({mode}; key from ${app.key_variable})")
    return lines


# --- calls ------------------------------------------------------------------------------


class ServiceApiApps:
    """Calls the real apps of one devkit run; remembers each app's mode once read."""

    def __init__(self, apps: Iterable[ServiceApiApp]) -> None:
        self._apps = {app.id: app for app in apps}
        self._modes: dict[str, str] = {app.id: app.mode for app in self._apps.values() if app.mode}

    def get(self, app_id: object) -> ServiceApiApp | None:
        return self._apps.get(app_id) if isinstance(app_id, str) else None

    @property
    def apps(self) -> list[ServiceApiApp]:
        return list(self._apps.values())

    async def invoke(self, app: ServiceApiApp, request: Mapping[str, Any]) -> AsyncGenerator[Event, None]:
        """Run the app as the plugin asked; yield each event (streaming) or the one result
        (blocking). AppCallError with Dify's status and body when Dify refuses the call,
        AppUnreachableError when it cannot be reached or the stream breaks."""
        async with _client(app) as client:
            mode = await self._mode(client, app)
            if mode in CHAT_MODES and not request.get("query"):
                # Dify's plugin invocation checks this before running a chat-type app
                # (the Service API would word it differently)
                raise AppCallError.invalid_param("missing query")
            path = "/chat-messages" if mode in CHAT_MODES else _RUN_PATHS[mode]
            body = _run_body(mode, request)
            async with _answer(client, app, "POST", path, json=body) as response:
                async for event in _events(app, path, response):
                    yield event

    async def parameters(self, app: ServiceApiApp) -> dict[str, Any]:
        """What `fetch_app` hands the plugin: GET /parameters, as the daemon hands Dify's
        answer on (the parameters themselves)."""
        async with _client(app) as client, _answer(client, app, "GET", "/parameters") as response:
            await response.aread()
            return _json_object(app, "/parameters", response)

    async def _mode(self, client: httpx.AsyncClient, app: ServiceApiApp) -> str:
        """The app's mode: declared, or read once from GET /info (Dify 1.x answers it)."""
        mode = self._modes.get(app.id)
        if mode is not None:
            return mode
        async with _answer(client, app, "GET", "/info") as response:
            await response.aread()
            info = _json_object(app, "/info", response)
        mode = info.get("mode")
        if mode not in MODES:
            reason = (
                f"GET {app.url('/info')} gave no mode a plugin can call ({mode!r}); "
                f"set `mode:` for app '{app.id}' in the devkit configuration"
            )
            say("devkit", f"app '{app.id}': {reason}")
            raise AppUnreachableError(reason, mid_stream=False)
        self._modes[app.id] = str(mode)
        return str(mode)


def _client(app: ServiceApiApp) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {app.api_key}", "User-Agent": "dify-plugin-devkit"}
    return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT))


def _run_body(mode: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The Service API request for the plugin's app call.

    The plugin's `user` is not used: Dify replaces it with the session's end user, here
    DEVKIT_USER. `conversation_id` continues a conversation; an empty one starts one.
    """
    inputs = request.get("inputs")
    body: dict[str, Any] = {
        "inputs": inputs if inputs is not None else {},
        "response_mode": request.get("response_mode"),
        "user": DEVKIT_USER,
    }
    if mode in CHAT_MODES:
        body["query"] = request.get("query")
        if request.get("conversation_id"):
            body["conversation_id"] = request["conversation_id"]
    return body


@asynccontextmanager
async def _answer(
    client: httpx.AsyncClient, app: ServiceApiApp, method: str, path: str, **kwargs: Any
) -> AsyncIterator[httpx.Response]:
    """`client.stream(...)` whose failures are the daemon's: a refusal is AppCallError with
    Dify's status and exact body; a connection that fails (before the answer, or while it
    is read) is AppUnreachableError worded as Go's HTTP client words it."""
    url = app.url(path)
    answered = False
    try:
        async with client.stream(method, url, **kwargs) as response:
            answered = True
            if response.status_code != 200:
                text = (await response.aread()).decode("utf-8", "replace")
                say("devkit", f"app '{app.id}': {method} {url} answered {response.status_code}: {text.strip()}")
                raise _refused(response.status_code, text)
            yield response
    except httpx.TransportError as error:
        if answered:
            say("devkit", f"app '{app.id}': the answer of {method} {url} broke off: {error!r}")
            raise AppUnreachableError(STREAM_BROKE, mid_stream=True) from None
        reason = f'{method.capitalize()} "{url}": {_go_dial_error(url, error)}'
        say("devkit", f"app '{app.id}': {reason}")
        raise AppUnreachableError(reason, mid_stream=False) from None


def _refused(status: int, text: str) -> AppCallError:
    """Dify's refusal as an AppCallError carrying its exact body."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return AppCallError(text, status=status, code="unknown", body={}, body_text=text)
    message = body.get("message")
    code = body.get("code")
    return AppCallError(
        message if isinstance(message, str) else text,
        status=status,
        code=code if isinstance(code, str) else "unknown",
        body=body,
        body_text=text,
    )


async def _events(app: ServiceApiApp, path: str, response: httpx.Response) -> AsyncIterator[Event]:
    """The answer's events: each SSE `data:` object (pings dropped) or the one JSON body."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        await response.aread()
        yield _json_object(app, path, response)
        return
    async for sse in EventSource(response).aiter_sse():
        if sse.event == "ping" or not sse.data:
            continue  # `event: ping` keep-alives: the daemon's stream never carries them
        try:
            event = json.loads(sse.data)
        except ValueError:
            # the daemon logs "stream data not match" and goes on
            say("devkit", f"app '{app.id}': skipped an SSE frame that is not JSON: {sse.data[:200]!r}")
            continue
        if isinstance(event, dict) and event.get("event") != "ping":
            yield event


def _json_object(app: ServiceApiApp, path: str, response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        reason = f"{app.url(path)} answered 200 without a JSON object; is base_url the Service API (…/v1)?"
        say("devkit", f"app '{app.id}': {reason}")
        raise AppUnreachableError(reason, mid_stream=False)
    return value


def _go_dial_error(url: str, error: httpx.TransportError) -> str:
    """The failure as Go's net/http client words it, which is what the daemon reports."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = f"{parts.hostname}:{port}"
    if isinstance(error, httpx.ConnectTimeout):
        return f"dial tcp {address}: i/o timeout"
    cause = _os_error(error)
    if isinstance(cause, socket.gaierror):
        return f"dial tcp: lookup {parts.hostname}: no such host"
    if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
        return f"dial tcp {address}: connect: connection refused"
    if isinstance(error, httpx.ConnectError):
        return f"dial tcp {address}: {cause.strerror if cause is not None and cause.strerror else error}"
    return "EOF"  # the server closed the connection before answering


def _os_error(error: BaseException) -> OSError | None:
    """The OSError with an errno underneath httpx's, httpcore's and anyio's wrappers
    (anyio's "All connection attempts failed" hides the ECONNREFUSED of each attempt)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
