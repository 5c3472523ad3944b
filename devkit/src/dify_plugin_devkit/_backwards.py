"""Answer the plugin's reverse invocations ("backwards" calls) as the daemon does.

The daemon (internal/core/io_tunnel/backwards_invocation/task.go) checks the
manifest permission, forwards the call to Dify's API and relays each result as a
`response` event, a failure as one `error` event, and always closes with `end`.
The error texts are the daemon's, because plugin code (and its users) see them.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from dify_plugin_devkit._apps import AppBackend, AppCallError, AppUnreachableError
from dify_plugin_devkit._deadline import iterate_until
from dify_plugin_devkit._errors import ProtocolError
from dify_plugin_devkit._storage import ReverseCallError

if TYPE_CHECKING:
    from dify_plugin_devkit._state import PluginState

# Invoke types of the SDK's InvokeType that need `resource.permission.app.enabled`.
_APP_TYPES = frozenset({"app", "fetch_app"})


class InvokeRequestError(ProtocolError):
    """The plugin sent an `invoke` message the daemon cannot even parse."""


def response_event(request_id: str, data: Any, message: str = "stream") -> dict[str, Any]:
    return {"backwards_request_id": request_id, "event": "response", "message": message, "data": data}


def error_event(request_id: str, message: str) -> dict[str, Any]:
    return {"backwards_request_id": request_id, "event": "error", "message": message, "data": None}


def end_event(request_id: str) -> dict[str, Any]:
    return {"backwards_request_id": request_id, "event": "end", "message": "", "data": None}


def parse_invoke(data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """`(type, backwards_request_id, request)`, or InvokeRequestError like the daemon's
    prepareDifyInvocationArguments."""
    invoke_type, request_id, request = data.get("type"), data.get("backwards_request_id"), data.get("request")
    if not isinstance(invoke_type, str):
        raise InvokeRequestError(f"invoke request missing type: {data}")
    if not isinstance(request_id, str):
        raise InvokeRequestError(f"invoke request missing request_id: {data}")
    if not isinstance(request, dict):
        raise InvokeRequestError(f"invoke request missing request: {data}")
    return invoke_type, request_id, request


# The daemon reads an app's answer with http_requests.RequestAndParseStream, which
# closes the response body `DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT` ms after Dify's
# API answered (time.AfterFunc, pkg/utils/http_requests/http_warpper.go): the read
# in parser.LengthPrefixedChunking then fails on the closed connection, and
# executeDifyInvocationAppTask reports it as `read app failed: <error>`. The
# addresses are those of the daemon and Dify's API in a deployment.
APP_STREAM_TIMEOUT = 240.0
APP_READ_TIMEOUT_ERROR = (
    "read tcp 172.18.0.5:51234->172.18.0.4:5001: use of closed network connection\nfailed to read system header"
)


def describe_app_error(error: AppCallError) -> str:
    """The message the plugin's `Exception` carries, worded as the daemon words it.

    Before the stream: RequestAndParseStream's `request failed with status code: N and
    respond with: <body>`, the body being Dify's error JSON as flask-restx writes it
    (`json.dumps` plus a newline). Mid-stream: Dify's convert_to_event_stream turns the
    exception into an `{"error": ...}` chunk, which calldify.StreamResponse reports as
    `request failed: <error>`.
    """
    if isinstance(error, AppUnreachableError):  # no answer of Dify's API at all
        return f"{'read' if error.mid_stream else 'invoke'} app failed: {error.reason}"
    if error.status is None:  # the stream from Dify's API broke mid-way
        return f"read app failed: request failed: {error.message}"
    body = error.response_text()
    return f"invoke app failed: request failed with status code: {error.status} and respond with: {body}"


def describe_request_error(error: AppCallError) -> str:
    """A failed plain (not streamed) call to Dify's inner API, worded as the daemon's
    http_requests.RequestAndParse words it."""
    if isinstance(error, AppUnreachableError):
        return error.reason
    if error.status == 200:  # Dify answered, with an `error` in its envelope
        return error.message
    return f"request failed with status code: {error.status} and respond with: {error.response_text()}"


#: calldify.FetchApp decodes whatever Dify answers as `{"data": {"data": ...}}`; an error
#: JSON (e.g. 400 for "app not found") has no `data`, so the daemon reports only this.
FETCH_APP_NO_DATA = "fetch app failed: data is nil"


def _stamped_answer(event: dict[str, Any], now_ns: int) -> dict[str, Any]:
    """`event` with its answer delta replaced by its send time (AppSpec.stamp_answers)."""
    stamp = f" devkit_sent_ns={now_ns}"
    if event.get("event") in ("message", "agent_message") and event.get("answer"):
        return {**event, "answer": stamp}
    data = event.get("data")
    if event.get("event") == "text_chunk" and isinstance(data, dict) and data.get("text"):
        return {**event, "data": {**data, "text": stamp}}
    return event


#: App calls kept in `BackwardsInvoker.app_call_log`.
APP_CALL_LOG = 1000


class BackwardsInvoker:
    """Turns one `invoke` message into the stream of `backwards_response` payloads."""

    def __init__(
        self,
        apps: AppBackend,
        *,
        app_permission: bool,
        state: PluginState | None = None,
        app_stream_timeout: float = APP_STREAM_TIMEOUT,
    ) -> None:
        self.apps = apps
        self.app_permission = app_permission
        # DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT: app streams are cut this long after they open
        self.app_stream_timeout = app_stream_timeout
        # storage and upload_file calls (_state.PluginState); None: not answered
        self.state = state
        # app calls received per app id: lets tests and benchmarks see what ran
        self.app_calls: Counter[str] = Counter()
        # app streams being answered now: one left open after its client went away
        # is a leak (the daemon cuts a local session's call; a serverless plugin
        # holds its transaction open until it stops reading)
        self.open_app_calls = 0
        # the last APP_CALL_LOG app calls, oldest first: which conversation each one
        # asked for and which it used (GET /devkit/app-calls)
        self.app_call_log: deque[dict[str, Any]] = deque(maxlen=APP_CALL_LOG)

    async def answer(self, invoke_type: str, request_id: str, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        if invoke_type in _APP_TYPES and not self.app_permission:
            yield error_event(request_id, "permission denied, you need to enable app access in plugin manifest")
        elif invoke_type == "app":
            async for event in self._invoke_app(request_id, request):
                yield event
        elif invoke_type == "fetch_app":
            try:
                parameters = await self.apps.fetch_parameters(str(request.get("app_id", "")))
            except AppUnreachableError as error:
                yield error_event(request_id, f"fetch app failed: {error.reason}")
            except AppCallError:
                yield error_event(request_id, FETCH_APP_NO_DATA)
            else:
                yield response_event(request_id, parameters, "struct")
        elif invoke_type == "upload_file" and self.apps.real.upload_target is not None:
            # inner-API apps declared: the file goes to that Dify, as the daemon sends it
            try:
                yield response_event(request_id, await self.apps.real.upload_file(request), "struct")
            except AppCallError as error:
                yield error_event(request_id, f"upload file failed: {describe_request_error(error)}")
        elif self.state is not None and invoke_type in ("storage", "upload_file"):
            try:
                yield response_event(request_id, self.state.invoke(invoke_type, request), "struct")
            except ReverseCallError as error:
                yield error_event(request_id, error.message)
        else:
            yield error_event(
                request_id,
                f"unsupported invoke type: {invoke_type} (the devkit answers app, storage and upload_file calls; "
                "run the plugin against a real Dify for models and tools)",
            )
        yield end_event(request_id)

    async def _invoke_app(self, request_id: str, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        app_id = request.get("app_id")
        self.app_calls[str(app_id)] += 1
        entry: dict[str, Any] = {
            "app_id": str(app_id),
            "response_mode": request.get("response_mode"),
            "query": request.get("query"),
            "conversation_id": request.get("conversation_id") or None,  # what the plugin asked for
            "used_conversation_id": None,  # what the app answered in (chat apps)
        }
        self.app_call_log.append(entry)
        spec = self.apps.get(app_id) if isinstance(app_id, str) else None
        stamp = spec is not None and spec.stamp_events and request.get("response_mode") == "streaming"
        stamp_answer = spec is not None and spec.stamp_answers and request.get("response_mode") == "streaming"
        self.open_app_calls += 1
        try:
            async for value in iterate_until(self.apps.invoke(request), self.app_stream_timeout):
                if entry["used_conversation_id"] is None and isinstance(value, dict):
                    entry["used_conversation_id"] = value.get("conversation_id")
                if stamp:  # as late as possible: the next step is the write to the plugin
                    value = {**value, "devkit_sent_ns": time.time_ns()}
                if stamp_answer:
                    value = _stamped_answer(value, time.time_ns())
                yield response_event(request_id, value)
        except TimeoutError:
            yield error_event(request_id, f"read app failed: {APP_READ_TIMEOUT_ERROR}")
        except AppCallError as error:
            yield error_event(request_id, describe_app_error(error))
        finally:
            self.open_app_calls -= 1
