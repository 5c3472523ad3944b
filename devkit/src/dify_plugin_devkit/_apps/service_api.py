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
handed to the plugin as Dify's plugin daemon hands over what Dify's *inner* API answers:
each SSE `data:` object as one event (the `ping` keep-alives dropped), a blocking answer
as the one result, a failure as the daemon's error text (see `describe_app_error` in
`_backwards.py`). Where the Service API answers otherwise than the inner API (recorded
side by side from Dify 1.13.2: tests/fixtures/real-dify-1.13.2/), the bridge answers as
the inner API does: see `ServiceApiApps.invoke` and `_as_inner`. For the inner API
itself (a self-hosted Dify), see `inner_api.py`.

Keys never live in a committed file: `api_key` must be `${VAR}`, read from the
environment or from a `.env` file next to the configuration. Every call runs as one
fixed Service API `user` (DEVKIT_USER), because Dify runs every endpoint call as one
default end user: conversations continue across calls, as they do inside Dify.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import socket
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from dotenv import dotenv_values
from httpx_sse import EventSource
from pydantic import ValidationError

from dify_plugin_devkit._console import say
from dify_plugin_devkit._errors import ConfigError

from .errors import SERVER_ERROR_BODY, AppCallError, AppUnreachableError
from .inputs import _validate as check_variable
from .spec import CHAT_MODES, FILE_VARIABLE_TYPES, VariableSpec

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
_SERVICE_API_KEYS = frozenset({"base_url", "api_key", "first_event_timeout"})
_VAR = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
#: Where a chat, workflow or completion app is run (Dify dispatches by the APP's mode).
_RUN_PATHS = {"workflow": "/workflows/run", "completion": "/completion-messages"}

#: Dify's Service API pings every 10 s of silence, and answers a streamed request it
#: refuses (an unknown conversation, a missing input) with 200, one ping and silence
#: until it closes the idle stream some 300 s later (recorded: chat_unknown_conv_stream,
#: wf_missing_required_stream). A run sends its first event at once (workflow_started,
#: or a chat app's first token), so only pings for this long is such a refusal.
FIRST_EVENT_TIMEOUT = 30.0

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
    #: seconds a stream may send only pings before its first event (see FIRST_EVENT_TIMEOUT)
    first_event_timeout: float = FIRST_EVENT_TIMEOUT

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
        raise ConfigError(
            f"{where}: service_api: expected a mapping with base_url and api_key (and optionally first_event_timeout)"
        )
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
    api_key = expand(variable, env, f"{where}: service_api.api_key", dotenv)
    example = "https://api.dify.ai/v1 or http://<host>/v1"
    base_url = base_url_of(service_api.get("base_url"), env, f"{where}: service_api.base_url", dotenv, example)
    timeout = service_api.get("first_event_timeout", FIRST_EVENT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(
            f"{where}: service_api.first_event_timeout: expected a number of seconds > 0, got {timeout!r}"
        )
    return ServiceApiApp(app_id, base_url, api_key, variable, mode, name, float(timeout))


def expand(variable: str, env: Mapping[str, str], where: str, dotenv: Path | None) -> str:
    value = env.get(variable, "")
    if not value:
        place = f" or in {dotenv}" if dotenv is not None else ""
        raise ConfigError(f"{where}: ${{{variable}}} is not set: export {variable}=...{place}")
    return value


def base_url_of(raw: object, env: Mapping[str, str], where: str, dotenv: Path | None, example: str) -> str:
    """An http(s) URL, written out or as `${VAR}`, without its trailing slash."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: expected the URL, e.g. {example}")
    text = raw.strip()
    named = _VAR.match(text)
    if named:
        text = expand(named.group(1), env, where, dotenv)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: expected an http(s) URL such as {example}, got {text!r}")
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


class Remote(Protocol):
    """What `answer` needs of an app: its id (for the console) and its URLs."""

    @property
    def id(self) -> str: ...
    def url(self, path: str) -> str: ...


class FileSource(Protocol):
    """A file the plugin uploaded with `session.file.upload` (the devkit's StoredFile)."""

    @property
    def name(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    def read(self) -> bytes: ...


#: Finds the devkit's file for a `tool_file_id` (None: unknown).
FileFinder = Callable[[str], Any]


class ServiceApiApps:
    """Calls the real apps of one devkit run; remembers each app's mode once read, and
    which of the plugin's files it already uploaded to which Dify."""

    def __init__(self, apps: Iterable[ServiceApiApp]) -> None:
        self._apps = {app.id: app for app in apps}
        self._modes: dict[str, str] = {app.id: app.mode for app in self._apps.values() if app.mode}
        # (Service API URL, tool file id) -> the upload file id that Dify gave it
        self._uploaded: dict[tuple[str, str], str] = {}

    def get(self, app_id: object) -> ServiceApiApp | None:
        return self._apps.get(app_id) if isinstance(app_id, str) else None

    @property
    def apps(self) -> list[ServiceApiApp]:
        return list(self._apps.values())

    async def invoke(
        self, app: ServiceApiApp, request: Mapping[str, Any], files: FileFinder | None = None
    ) -> AsyncGenerator[Event, None]:
        """Run the app as the plugin asked, answering as Dify's inner API would; yield each
        event (streaming) or the one result (blocking).

        The Service API answers some calls unlike the inner API a plugin talks to inside
        Dify (recorded: tests/fixtures/real-dify-1.13.2/): a streamed request it refuses
        is 200, one ping and silence; a failing chatflow's `error` event is dropped; an
        unknown conversation is 404; `tool_file` inputs are refused. So, before the run,
        the conversation and the inputs are checked as Dify checks them (its messages),
        the plugin's files are uploaded, and a failed chatflow run gets its `error` event.
        AppCallError carries the inner API's status and body; AppUnreachableError when
        Dify cannot be reached, breaks off, or sends only pings (`first_event_timeout`).
        """
        async with _client(app) as client:
            mode = await self._mode(client, app)
            chat = mode in CHAT_MODES
            if chat and not request.get("query"):
                # Dify's plugin invocation checks this before running a chat-type app
                # (recorded: inner_chat_missing_query; the Service API says "query is required")
                raise inner_error(400, "invalid_param", "missing query")
            conversation_id = request.get("conversation_id") or "" if chat else ""
            if conversation_id:
                await _check_conversation(client, app, str(conversation_id))
            inputs = request.get("inputs")
            inputs = dict(inputs) if isinstance(inputs, Mapping) else {}
            if not conversation_id or mode == "advanced-chat":
                # chat apps keep the inputs of a conversation's first turn; the others check each call's
                await _check_inputs(client, app, inputs)
            inputs = {name: await self._files(client, app, value, files) for name, value in inputs.items()}
            path = "/chat-messages" if chat else _RUN_PATHS[mode]
            body = _run_body(mode, request, inputs)
            try:
                async with answer(client, app, "POST", path, json=body) as response:
                    async for event in _events(app, path, response, chatflow=mode == "advanced-chat"):
                        yield event
            except AppCallError as error:
                raise _as_inner(error) from None

    async def parameters(self, app: ServiceApiApp) -> dict[str, Any]:
        """What `fetch_app` hands the plugin: GET /parameters, as the daemon hands Dify's
        answer on (the parameters themselves)."""
        async with _client(app) as client:
            return await _parameters(client, app)

    async def _mode(self, client: httpx.AsyncClient, app: ServiceApiApp) -> str:
        """The app's mode: declared, or read once from GET /info (Dify 1.x answers it)."""
        mode = self._modes.get(app.id)
        if mode is not None:
            return mode
        async with answer(client, app, "GET", "/info") as response:
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

    async def _files(self, client: httpx.AsyncClient, app: ServiceApiApp, value: Any, files: FileFinder | None) -> Any:
        """An input value with each `tool_file` the plugin uploaded to the devkit turned
        into a `local_file` of the app's Dify (`POST /files/upload`, once per file): the
        Service API refuses tool files ("ToolFile <id> not found", recorded:
        wf_file_tool_file) and takes local_file uploads (wf_file_local_*)."""
        if isinstance(value, list):
            return [await self._files(client, app, item, files) for item in value]
        if not isinstance(value, Mapping) or value.get("transfer_method") != "tool_file" or files is None:
            return value
        tool_file_id = value.get("tool_file_id")
        stored = files(tool_file_id) if isinstance(tool_file_id, str) else None
        if stored is None or not callable(getattr(stored, "read", None)):
            return value  # not the devkit's: Dify answers for it
        key = (app.base_url, str(tool_file_id))
        if key not in self._uploaded:
            upload = {"file": (stored.name, stored.read(), stored.mime_type)}
            async with answer(
                client, app, "POST", "/files/upload", ok=(200, 201), files=upload, data={"user": DEVKIT_USER}
            ) as response:
                await response.aread()
                uploaded = _json_object(app, "/files/upload", response)
            if not isinstance(uploaded.get("id"), str):
                raise AppUnreachableError(
                    f"POST {app.url('/files/upload')} answered without a file id", mid_stream=False
                )
            self._uploaded[key] = uploaded["id"]
            say("devkit", f"app '{app.id}': uploaded the plugin's file {stored.name!r} to its Dify ({uploaded['id']})")
        converted = {k: v for k, v in value.items() if k not in ("transfer_method", "tool_file_id")}
        return {**converted, "transfer_method": "local_file", "upload_file_id": self._uploaded[key]}


def inner_error(status: int, code: str, message: str) -> AppCallError:
    """An error as Dify's inner API answers it: compact JSON, `\\/` escaped, a newline
    (recorded: inner_chat_unknown_conv_stream.body, inner_wf_missing_required_stream.body)."""
    if status == 500:
        body: dict[str, Any] = dict(SERVER_ERROR_BODY)
    else:
        body = {"code": code, "message": message, "status": status}
    text = json.dumps(body, separators=(",", ":")).replace("/", "\\/") + "\n"
    return AppCallError(str(body["message"]), status=status, code=str(body["code"]), body=body, body_text=text)


def _as_inner(error: AppCallError) -> AppCallError:
    """A Service API refusal as the inner API answers the same call (recorded pairs):

    | Service API                                   | inner API                          |
    |-----------------------------------------------|------------------------------------|
    | 404 not_found "Conversation Not Exists. ..."  | 400 invalid_param, empty message   |
    | (chat_unknown_conv_blocking)                  | (inner_chat_unknown_conv_blocking) |

    Others are the same in both (chat_fail_blocking, wf_missing_required_blocking,
    wf_bad_select: 400 with the same body) or cannot reach Dify from here (the bridge
    checks queries, conversation ids and inputs first).
    """
    if error.status == 404 and error.code == "not_found" and error.message.startswith("Conversation Not Exists."):
        return inner_error(400, "invalid_param", "")
    return error


async def _check_conversation(client: httpx.AsyncClient, app: ServiceApiApp, conversation_id: str) -> None:
    """Refuse an unknown conversation as the inner API does, before the stream opens.

    Not a UUID: Dify's query fails in the database, 500 (recorded: inner_chat_bad_conv_format).
    Unknown: ConversationNotExistsError, 400 with an empty message (inner_chat_unknown_conv_*).
    Looked up with `GET /conversations?last_id=<id>&limit=1` as the bridge's user: Dify
    answers 404 "Last Conversation Not Exists." when the id is not one of that user's
    conversations (ConversationService.pagination_by_last_id), without running the app.
    """
    try:
        uuid.UUID(conversation_id)
    except ValueError:
        say("devkit", f"app '{app.id}': conversation_id {conversation_id!r} is not a UUID: Dify answers 500")
        raise inner_error(500, "unknown", "") from None
    params = {"user": DEVKIT_USER, "last_id": conversation_id, "limit": 1}
    try:
        async with answer(client, app, "GET", "/conversations", params=params) as response:
            await response.aread()
    except AppCallError as error:
        if error.status != 404:
            raise
        say("devkit", f"app '{app.id}': conversation {conversation_id} does not exist (for user '{DEVKIT_USER}')")
        raise inner_error(400, "invalid_param", "") from None


async def _parameters(client: httpx.AsyncClient, app: ServiceApiApp) -> dict[str, Any]:
    async with answer(client, app, "GET", "/parameters") as response:
        await response.aread()
        return _json_object(app, "/parameters", response)


async def _check_inputs(client: httpx.AsyncClient, app: ServiceApiApp, inputs: Mapping[str, Any]) -> None:
    """Check the inputs against the app's form (`GET /parameters`) before the run."""
    refused = input_error(await _parameters(client, app), inputs)
    if refused is not None:
        say("devkit", f"app '{app.id}': input refused as Dify refuses it: {refused.message}")
        raise refused


def input_error(parameters: Mapping[str, Any], inputs: Mapping[str, Any]) -> AppCallError | None:
    """The inner API's refusal of these inputs for an app with these `/parameters`, or
    None: Dify's rules and messages (BaseAppGenerator._validate_inputs, as `inputs.py`
    implements it) in form order: required, string types, select options, max_length,
    numbers, files. A form item the devkit cannot read is left to Dify."""
    for variable in form_variables(parameters):
        try:
            check_variable(variable, inputs.get(variable.name))
        except AppCallError as error:
            return inner_error(error.status or 500, error.code, error.message)
    return None


def form_variables(parameters: Mapping[str, Any]) -> list[VariableSpec]:
    """The variables of a `/parameters` answer's `user_input_form` (`[{type: {...}}]`)."""
    variables: list[VariableSpec] = []
    form = parameters.get("user_input_form")
    for item in form if isinstance(form, list) else []:
        if not isinstance(item, Mapping) or len(item) != 1:
            continue
        [(kind, entry)] = item.items()
        if not isinstance(entry, Mapping):
            continue
        knobs: dict[str, Any] = {"name": entry.get("variable"), "type": kind, "required": bool(entry.get("required"))}
        if kind == "select":
            knobs["options"] = entry.get("options")
        if kind in ("text-input", "paragraph", "file-list") and entry.get("max_length"):
            knobs["max_length"] = entry.get("max_length")
        if kind not in FILE_VARIABLE_TYPES and entry.get("default") is not None:
            knobs["default"] = entry.get("default")
        try:
            variables.append(VariableSpec(**knobs))
        except (ValidationError, TypeError):
            continue  # e.g. a type the devkit does not know: Dify checks it
    return variables


def _client(app: ServiceApiApp) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {app.api_key}", "User-Agent": "dify-plugin-devkit"}
    return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT))


def _run_body(mode: str, request: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The Service API request for the plugin's app call.

    The plugin's `user` is not used: Dify replaces it with the session's end user, here
    DEVKIT_USER. `conversation_id` continues a conversation; an empty one starts one.
    """
    body: dict[str, Any] = {"inputs": dict(inputs), "response_mode": request.get("response_mode"), "user": DEVKIT_USER}
    if mode in CHAT_MODES:
        body["query"] = request.get("query")
        if request.get("conversation_id"):
            body["conversation_id"] = request["conversation_id"]
    return body


@asynccontextmanager
async def answer(
    client: httpx.AsyncClient, app: Remote, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
) -> AsyncIterator[httpx.Response]:
    """`client.stream(...)` whose failures are the daemon's: a refusal is AppCallError with
    Dify's status and exact body; a connection that fails (before the answer, or while it
    is read) is AppUnreachableError worded as Go's HTTP client words it."""
    url = app.url(path)
    answered = False
    try:
        async with client.stream(method, url, **kwargs) as response:
            answered = True
            if response.status_code not in ok:
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


async def _events(app: ServiceApiApp, path: str, response: httpx.Response, *, chatflow: bool) -> AsyncIterator[Event]:
    """The answer's events: each SSE `data:` object (pings dropped) or the one JSON body.

    Recorded framing: `data: {compact JSON}\\n\\n`, and `event: ping\\n\\n` at the start
    and after each 10 s of silence. A stream that sends only pings for
    `first_event_timeout` is a refusal the Service API does not say (FIRST_EVENT_TIMEOUT).
    A chatflow whose run failed ends at `workflow_finished` here; inside Dify an `error`
    event follows (advanced_chat/generate_task_pipeline.py: `ValueError(f"Run failed:
    {error}")`, recorded: inner_chat_fail_stream), so the bridge sends it.
    """
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        await response.aread()
        yield _json_object(app, path, response)
        return
    source = EventSource(response).aiter_sse()
    deadline = asyncio.get_running_loop().time() + app.first_event_timeout
    started = False
    finished: Event | None = None
    errored = False
    while True:
        try:
            if started:
                sse = await anext(source)
            else:
                left = deadline - asyncio.get_running_loop().time()
                sse = await asyncio.wait_for(anext(source), timeout=max(left, 0.0))
        except StopAsyncIteration:
            break
        except TimeoutError:
            reason = (
                f"POST {app.url(path)} sent only keep-alive pings for {app.first_event_timeout:g} s: this is how "
                "the Service API answers a streamed call it refused (unknown conversation, input the app does not "
                "take); make the same call with response_mode blocking to see Dify's error "
                "(service_api.first_event_timeout sets this bound)"
            )
            say("devkit", f"app '{app.id}': {reason}")
            raise AppUnreachableError(reason, mid_stream=False) from None
        if sse.event == "ping" or not sse.data:
            continue  # `event: ping` keep-alives: the daemon's stream never carries them
        try:
            event = json.loads(sse.data)
        except ValueError:
            # the daemon logs "stream data not match" and goes on
            say("devkit", f"app '{app.id}': skipped an SSE frame that is not JSON: {sse.data[:200]!r}")
            continue
        if not isinstance(event, dict) or event.get("event") == "ping":
            continue
        started = True
        if event.get("event") == "workflow_finished":
            finished = event
        errored = errored or event.get("event") == "error"
        yield event
    if chatflow and finished is not None and not errored:
        data = finished.get("data")
        if isinstance(data, dict) and data.get("status") == "failed":
            say("devkit", f"app '{app.id}': the run failed; sending the `error` event the Service API leaves out")
            yield failed_run_error(finished, str(data.get("error")))


def failed_run_error(finished: Mapping[str, Any], error: str) -> Event:
    """The `error` event a failed chatflow run ends with inside Dify (key order recorded)."""
    return {
        "event": "error",
        "conversation_id": finished.get("conversation_id"),
        "message_id": finished.get("message_id"),
        "created_at": finished.get("created_at"),
        "code": "invalid_param",
        "status": 400,
        "message": f"Run failed: {error}",
    }


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
