"""The HTTP front of the devkit: what Dify's plugin daemon serves.

- `/e/<hook_id>/<path>` (HEAD GET POST PUT DELETE OPTIONS): endpoint requests,
  copied and sent to the plugin; the response relayed with status and headers from
  the plugin's first message and every body chunk written and flushed the moment it
  arrives. Anything else the daemon does not route: its 404 `route not found`.
- `/backwards-invocation/transaction`: app calls of a serverless plugin.
- `/health/check`: 200 while a plugin process is ready.
- `/devkit/stats`: app calls per app id, the plugin's pid and restarts (devkit only,
  for tests and benchmarks).
- `/devkit/app-calls`: the last 1,000 app calls with the conversation each used (devkit only).
- `/`: a page listing the endpoints (devkit only; the daemon's 404 without one).
- with a request log, one line per request once its response is done.

Behaviour follows internal/service/endpoint.go and io_tunnel/endpoint_service.go
of dify-plugin-daemon, including its quirks (headers are only sent with the first
body chunk; a failure after streaming began is written into the body as text).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from dify_plugin_devkit._backwards import BackwardsInvoker, InvokeRequestError, parse_invoke
from dify_plugin_devkit._config import DaemonOptions, EndpointInstance
from dify_plugin_devkit._deadline import iterate_until
from dify_plugin_devkit._gojson import go_json
from dify_plugin_devkit._request_codec import IncomingRequest, serialize_request
from dify_plugin_devkit._runtime.base import InvokeFailed, PluginRuntime
from dify_plugin_devkit._sessions import Session, SessionMessage, SessionRegistry

# Headers that describe the plugin↔daemon hop, not the response to the client.
_HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "keep-alive"})
TRANSACTION_BODY_LIMIT = 6 * 1024 * 1024
TRANSACTION_HEARTBEAT_SECONDS = 25.0


# Endpoint routes of internal/server/http_server.go (endpointGroup): other methods
# fall through to gin's NoRoute handler.
ROUTED_METHODS = ("HEAD", "POST", "GET", "PUT", "DELETE", "OPTIONS")


def daemon_error_body(code: int, error_type: str, message: str) -> str:
    """The daemon's error body: `{"code", "message": <json of the error>, "data": null}`
    (exception.genericError.ToResponse, written with gin's c.JSON)."""
    inner = go_json({"message": message, "error_type": error_type, "args": None})
    return go_json({"code": code, "message": inner, "data": None})


def daemon_error(status: int, code: int, error_type: str, message: str) -> web.Response:
    body = daemon_error_body(code, error_type, message)
    return web.Response(status=status, text=body, content_type="application/json", charset="utf-8")


def route_not_found() -> web.Response:
    """gin's NoRoute handler of the daemon: any path or method it does not route."""
    body = go_json({"code": "not_found", "message": "route not found"}, sort_keys=True)
    return web.Response(status=404, text=body, content_type="application/json", charset="utf-8")


@web.middleware
async def _no_route(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request the router cannot match (unknown path, or a method like PATCH) gets
    the daemon's 404 instead of aiohttp's own 404/405."""
    if request.match_info.http_exception is not None:
        return route_not_found()
    return await handler(request)


def plugin_error_text(message: SessionMessage) -> str:
    """How the daemon renders a plugin `error` message (ErrorResponse.Error(): a Go map,
    keys sorted)."""
    data = message.data
    return go_json(
        {"args": data.get("args"), "error_type": data.get("error_type", ""), "message": data.get("message", "")},
        sort_keys=True,
    )


#: Where an endpoint request keeps its session (the request log counts its app calls).
SESSION_KEY = web.RequestKey("devkit_session", Session)
#: The status an endpoint response was sent with: a client that read a whole body of
#: known length may close before the plugin's `end` (the handler is then cancelled).
STATUS_KEY = web.RequestKey("devkit_status", int)
#: Paths polled by tools (tests, benchmarks, a serverless plugin's app calls): the request
#: log leaves them out unless asked (`--log-all`), as they would drown the lines a person reads.
QUIET_PREFIXES = ("/health/check", "/devkit/", "/backwards-invocation/")

RequestLog = Callable[[str], None]


def request_log_middleware(log: RequestLog, *, everything: bool = False) -> Any:
    """One line per request once its response is done: method, path (no query: it may
    hold a key), status, time, the app calls it made. `make dev` prints these."""

    @web.middleware
    async def log_requests(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.monotonic()
        status: int | str = "-"
        try:
            response = await handler(request)
            status = response.status
            return response
        except asyncio.CancelledError:
            status = request.get(STATUS_KEY, "-")  # what the client got before it closed
            if status == "-":
                status = "(client went away)"
            raise
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            if everything or not request.path.startswith(QUIET_PREFIXES):
                session = request.get(SESSION_KEY)
                calls = session.app_calls if session is not None else 0
                ms = (time.monotonic() - started) * 1000
                extra = f" ({calls} app call{'s' if calls != 1 else ''})" if calls else ""
                log(f"{request.method} {request.path} {status} {ms:.0f} ms{extra}")

    return log_requests


class Daemon:
    """aiohttp application emulating the daemon for one plugin."""

    def __init__(
        self,
        instances: tuple[EndpointInstance, ...],
        options: DaemonOptions,
        sessions: SessionRegistry,
        invoker: BackwardsInvoker,
        *,
        request_log: RequestLog | None = None,
        log_everything: bool = False,
    ) -> None:
        self.instances = {i.hook_id: i for i in instances}
        self.options = options
        self.sessions = sessions
        self.invoker = invoker
        self.runtime: PluginRuntime | None = None
        # the devkit's page at `/` (HTML); None: `/` is the daemon's 404 like any other path
        self.index: Callable[[], str] | None = None
        middlewares = [_no_route]
        if request_log is not None:
            middlewares.insert(0, request_log_middleware(request_log, everything=log_everything))
        self.app = web.Application(client_max_size=options.max_body_bytes + 1, middlewares=middlewares)
        self.app.router.add_get("/", self.index_page)
        self.app.router.add_get("/health/check", self.health)
        self.app.router.add_get("/devkit/stats", self.stats)
        self.app.router.add_get("/devkit/app-calls", self.app_calls)
        self.app.router.add_post("/backwards-invocation/transaction", self.transaction)
        for method in ROUTED_METHODS:
            self.app.router.add_route(method, "/e/{hook_id}/{path:.*}", self.endpoint)
            self.app.router.add_route(method, "/e/{hook_id}", self.add_trailing_slash)

    # -- /health/check -----------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        ready = self.runtime is not None and self.runtime.ready.is_set()
        body = {"status": "ok" if ready else "starting", "sessions": len(self.sessions), **self._plugin_stats()}
        return web.json_response(body, status=200 if ready else 503)

    def _plugin_stats(self) -> dict[str, Any]:
        """The plugin process now serving (its pid changes on every restart)."""
        runtime = self.runtime
        process = runtime.process if runtime is not None else None
        return {
            "plugin_pid": process.pid if process is not None and process.returncode is None else None,
            "plugin_restarts": runtime.restarts if runtime is not None else 0,
            "last_plugin_exit": runtime.last_exit if runtime is not None else None,
        }

    async def stats(self, request: web.Request) -> web.Response:
        """Devkit-only: what ran so far (not a daemon route)."""
        body: dict[str, Any] = {
            "app_calls": dict(self.invoker.app_calls),
            "open_sessions": len(self.sessions),
            "open_app_calls": self.invoker.open_app_calls,
        }
        body.update(self._plugin_stats())
        if self.invoker.state is not None:
            body.update(self.invoker.state.stats())  # storage_ops, uploads
        return web.json_response(body)

    async def app_calls(self, request: web.Request) -> web.Response:
        """Devkit-only: the last app calls, oldest first, each with the conversation it
        asked for (`conversation_id`) and the one the app answered in
        (`used_conversation_id`): a test can prove N turns went to ONE conversation."""
        return web.json_response({"calls": list(self.invoker.app_call_log)})

    # -- / -------------------------------------------------------------------------
    async def index_page(self, request: web.Request) -> web.Response:
        """Devkit-only: a page listing the endpoints (the real daemon answers `/` with 404)."""
        if self.index is None:
            return route_not_found()
        return web.Response(text=self.index(), content_type="text/html", charset="utf-8")

    # -- /e/<hook_id> -> /e/<hook_id>/ ---------------------------------------------
    @staticmethod
    async def add_trailing_slash(request: web.Request) -> web.Response:
        """gin's RedirectTrailingSlash (on in the daemon): `/e/<hook_id>` is a slash short of
        the `/e/:hook_id/*path` route, so gin redirects there, query kept: 301 for GET,
        307 (method and body kept) otherwise; Go's http.Redirect adds a link body on GET."""
        location = request.rel_url.raw_path + "/"
        if request.rel_url.raw_query_string:
            location += "?" + request.rel_url.raw_query_string
        if request.method != "GET":
            headers = {"Location": location}
            if request.method == "HEAD":
                headers["Content-Type"] = "text/html; charset=utf-8"
            return web.Response(status=307, headers=headers)
        body = f'<a href="{html.escape(location)}">Moved Permanently</a>.\n\n'
        return web.Response(status=301, text=body, content_type="text/html", headers={"Location": location})

    # -- /e/<hook_id>/<path> --------------------------------------------------
    async def endpoint(self, request: web.Request) -> web.StreamResponse:
        instance = self.instances.get(request.match_info["hook_id"])
        if instance is None:
            return daemon_error(404, -400, "PluginDaemonBadRequestError", "endpoint not found")
        if not instance.enabled:  # service.Endpoint: checked before the body is read
            return daemon_error(404, -404, "PluginDaemonNotFoundError", "endpoint not found")
        if self.runtime is None:
            return daemon_error(503, -500, "PluginDaemonInternalServerError", "plugin is starting")

        body = await self._read_body(request)
        if body is None:
            limit = self.options.max_body_bytes
            return daemon_error(
                413,
                -413,
                "PluginDaemonBadRequestError",
                f"request body exceeds {limit} bytes (daemon.oversize_body: reject; the daemon cuts it there)",
            )
        incoming = IncomingRequest(
            method=request.method,
            path="/" + request.match_info["path"],
            raw_query=request.rel_url.raw_query_string,
            headers=[(k.decode("latin-1"), v.decode("utf-8", "surrogateescape")) for k, v in request.raw_headers],
            host=request.host,
            body=body,
            tls=request.secure,
        )
        raw = serialize_request(incoming, instance.hook_id)
        session = self.sessions.open(endpoint_id=instance.hook_id)
        request[SESSION_KEY] = session  # the request log reads its app calls
        relay = _Relay(request)
        loop = asyncio.get_running_loop()
        try:
            # The daemon's timer starts once io_tunnel.InvokeEndpoint returned, i.e. at
            # the plugin's first body chunk; nothing limits the wait for that chunk.
            async with asyncio.timeout(None) as timer:
                relay.on_first_chunk = lambda: timer.reschedule(loop.time() + self.options.max_execution_timeout)
                await relay.run(
                    self.runtime.invoke(
                        session,
                        {
                            "user_id": "",
                            "type": "endpoint",
                            "action": "invoke_endpoint",
                            "raw_http_request": raw.hex(),
                            "settings": instance.settings,
                        },
                    )
                )
        except TimeoutError:
            if not timer.expired():
                raise
            return await relay.fail("killed by timeout")
        except InvokeFailed as error:
            return await relay.fail(str(error))
        finally:
            self.sessions.close(session)
        return relay.response

    async def _read_body(self, request: web.Request) -> bytes | None:
        """The body, at most max_body_bytes; None when larger and set to reject."""
        limit = self.options.max_body_bytes
        body = await request.content.read(limit + 1) if request.can_read_body else b""
        while request.can_read_body and len(body) <= limit and not request.content.at_eof():
            more = await request.content.read(limit + 1 - len(body))
            if not more:
                break
            body += more
        if len(body) <= limit:
            return body
        if self.options.oversize_body == "truncate":
            return body[:limit]  # what the real daemon's io.LimitReader does
        return None

    # -- /backwards-invocation/transaction ----------------------------------------
    async def transaction(self, request: web.Request) -> web.StreamResponse:
        """Answer one app call of a serverless plugin (transaction/serverless_handler.go)."""
        session_id = request.headers.get("Dify-Plugin-Session-ID", "")
        raw = await request.content.read(TRANSACTION_BODY_LIMIT)
        try:
            event = json.loads(raw.split(b"\n", 1)[0] or b"null")
            message = SessionMessage.parse(event.get("data") if isinstance(event, dict) else None)
            invoke = parse_invoke(message.data)
        except (ValueError, InvokeRequestError) as error:
            return web.Response(status=400, text=str(error))
        session = self.sessions.get(session_id or event.get("session_id"))
        if session is None:
            body = {
                "backwards_request_id": invoke[1],
                "event": "error",
                "message": "failed to get session info from cache",
                "data": {"error_type": "SessionNotFound", "detail": "key not found", "session_id": session_id},
            }
            return web.json_response(body, status=400)

        session.count_call(invoke[0])
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        heartbeat = asyncio.ensure_future(self._heartbeat(response))
        # MAX_SERVERLESS_TRANSACTION_TIMEOUT: the handler returns when it passes, and the
        # plugin's stream just ends (no `end`, no error: the SDK takes it as the end)
        answer = iterate_until(self.invoker.answer(*invoke), self.options.serverless_transaction_timeout)
        try:
            async for payload in answer:
                line = json.dumps(session.envelope("backwards_response", payload), ensure_ascii=False)
                await response.write(line.encode() + b"\n\n")
        except TimeoutError:
            pass
        finally:
            heartbeat.cancel()
        await response.write_eof()
        return response

    @staticmethod
    async def _heartbeat(response: web.StreamResponse) -> None:
        while True:
            await asyncio.sleep(TRANSACTION_HEARTBEAT_SECONDS)
            await response.write(b"\n\n")


class _Relay:
    """Relays one session's messages to the HTTP client, as the daemon does."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.status = 100  # http.StatusContinue until the plugin says otherwise
        self.headers: dict[str, str] = {}
        self.response: web.StreamResponse = web.Response(status=204)
        self.started = False
        self.on_first_chunk: Callable[[], None] = lambda: None

    async def run(self, messages: Any) -> None:
        async for message in messages:
            if message.type == "stream":
                await self._stream(message.data)
            elif message.type == "error":
                await self._error(message)
                return
            elif message.type == "end":
                break
        if not self.started:  # the plugin ended without a body chunk
            await self._start()
        await self.response.write_eof()

    async def _stream(self, data: dict[str, Any]) -> None:
        if data.get("status") is not None:
            self.status = int(data["status"])
        for name, value in (data.get("headers") or {}).items():
            self.headers.setdefault(name, str(value))  # first value wins
        result = data.get("result")
        if result is None:
            return
        chunk = bytes.fromhex(result)
        if not self.started:
            self.on_first_chunk()
            await self._start()
        if chunk and self.request.method != "HEAD":  # Go's server eats body writes for HEAD
            await self.response.write(chunk)  # aiohttp writes straight to the socket

    async def _start(self) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        self.response = web.StreamResponse(status=self.status, headers=headers)
        await self.response.prepare(self.request)
        self.request[STATUS_KEY] = self.status
        self.started = True

    async def _error(self, message: SessionMessage) -> None:
        text = plugin_error_text(message)
        if not self.started:
            self.response = daemon_error(500, -500, "PluginDaemonInternalServerError", text)
            return
        with contextlib.suppress(ConnectionError):
            await self.response.write(text.encode())

    async def fail(self, reason: str) -> web.StreamResponse:
        if not self.started:
            return daemon_error(500, -500, "PluginDaemonInternalServerError", reason)
        body = daemon_error_body(-500, "PluginDaemonInternalServerError", reason)
        with contextlib.suppress(ConnectionError):
            await self.response.write(body.encode())
            await self.response.write_eof()
        return self.response
