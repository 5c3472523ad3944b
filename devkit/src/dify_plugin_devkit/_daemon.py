"""The HTTP front of the devkit: what Dify's plugin daemon serves.

- `/e/<hook_id>/<path>`: endpoint requests, copied and sent to the plugin; the
  response relayed with status and headers from the plugin's first message and
  every body chunk written and flushed the moment it arrives.
- `/backwards-invocation/transaction`: app calls of a serverless plugin.
- `/health/check`: 200 once the plugin is ready.
- `/devkit/stats`: app calls per app id (devkit only, for tests and benchmarks).

Behaviour follows internal/service/endpoint.go and io_tunnel/endpoint_service.go
of dify-plugin-daemon, including its quirks (headers are only sent with the first
body chunk; a failure after streaming began is written into the body as text).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from dify_plugin_devkit._backwards import BackwardsInvoker, InvokeRequestError, parse_invoke
from dify_plugin_devkit._config import DaemonOptions, EndpointInstance
from dify_plugin_devkit._request_codec import IncomingRequest, serialize_request
from dify_plugin_devkit._runtime.base import PluginRuntime
from dify_plugin_devkit._sessions import SessionMessage, SessionRegistry

# Headers that describe the plugin↔daemon hop, not the response to the client.
_HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "keep-alive"})
TRANSACTION_BODY_LIMIT = 6 * 1024 * 1024
TRANSACTION_HEARTBEAT_SECONDS = 25.0


def daemon_error(status: int, code: int, error_type: str, message: str) -> web.Response:
    """The daemon's error body: `{"code", "message": <json of the error>, "data": null}`."""
    inner = json.dumps({"message": message, "error_type": error_type, "args": None}, ensure_ascii=False)
    return web.json_response({"code": code, "message": inner, "data": None}, status=status)


def plugin_error_text(message: SessionMessage) -> str:
    """How the daemon renders a plugin `error` message (ErrorResponse.Error())."""
    data = message.data
    return json.dumps(
        {"args": data.get("args"), "error_type": data.get("error_type", ""), "message": data.get("message", "")},
        ensure_ascii=False,
        sort_keys=True,
    )


class Daemon:
    """aiohttp application emulating the daemon for one plugin."""

    def __init__(
        self,
        instances: tuple[EndpointInstance, ...],
        options: DaemonOptions,
        sessions: SessionRegistry,
        invoker: BackwardsInvoker,
    ) -> None:
        self.instances = {i.hook_id: i for i in instances}
        self.options = options
        self.sessions = sessions
        self.invoker = invoker
        self.runtime: PluginRuntime | None = None
        self.app = web.Application(client_max_size=options.max_body_bytes + 1)
        self.app.router.add_get("/health/check", self.health)
        self.app.router.add_get("/devkit/stats", self.stats)
        self.app.router.add_post("/backwards-invocation/transaction", self.transaction)
        self.app.router.add_route("*", "/e/{hook_id}/{path:.*}", self.endpoint)

    # -- /health/check -----------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        ready = self.runtime is not None and not self.runtime.exited.is_set()
        body = {"status": "ok" if ready else "starting", "sessions": len(self.sessions)}
        return web.json_response(body, status=200 if ready else 503)

    async def stats(self, request: web.Request) -> web.Response:
        """Devkit-only: what ran so far (not a daemon route)."""
        return web.json_response({"app_calls": dict(self.invoker.app_calls), "open_sessions": len(self.sessions)})

    # -- /e/<hook_id>/<path> --------------------------------------------------
    async def endpoint(self, request: web.Request) -> web.StreamResponse:
        instance = self.instances.get(request.match_info["hook_id"])
        if instance is None:
            return daemon_error(404, -400, "PluginDaemonBadRequestError", "endpoint not found")
        if self.runtime is None:
            return daemon_error(503, -500, "PluginDaemonInternalServerError", "plugin is starting")

        body = await self._read_body(request)
        if body is None:
            limit = self.options.max_body_bytes
            return daemon_error(
                413,
                -413,
                "PluginDaemonBadRequestError",
                f"request body exceeds {limit} bytes (the daemon reads at most 10 MiB)",
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
        relay = _Relay(request)
        try:
            async with asyncio.timeout(self.options.max_execution_timeout):
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
            return await relay.fail("killed by timeout")
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

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        heartbeat = asyncio.ensure_future(self._heartbeat(response))
        try:
            async for payload in self.invoker.answer(*invoke):
                line = json.dumps(session.envelope("backwards_response", payload), ensure_ascii=False)
                await response.write(line.encode() + b"\n\n")
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
            await self._start()
        if chunk:
            await self.response.write(chunk)  # aiohttp writes straight to the socket

    async def _start(self) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        self.response = web.StreamResponse(status=self.status, headers=headers)
        await self.response.prepare(self.request)
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
        inner = json.dumps({"message": reason, "error_type": "PluginDaemonInternalServerError", "args": None})
        with contextlib.suppress(ConnectionError):
            await self.response.write(json.dumps({"code": -500, "message": inner, "data": None}).encode())
            await self.response.write_eof()
        return self.response
