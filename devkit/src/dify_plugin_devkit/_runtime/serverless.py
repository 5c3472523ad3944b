"""Serverless install method: the plugin is an HTTP server, as when Dify scales out.

The plugin (INSTALL_METHOD=serverless) serves `POST /invoke` and streams back the
same JSON lines it would print in local mode. It cannot receive anything on that
stream, so its app calls come to the daemon as separate HTTP requests on
`/backwards-invocation/transaction` (see _daemon), carrying the session id.

The daemon's side is internal/core/serverless_runtime/io.go (`WriteContext`):
- a request line over MAX_SERVERLESS_REQUEST_BYTES (5 MiB) is never sent: the
  endpoint answers 500 `ServerlessPayloadTooLarge: ...`;
- the call gets a context deadline of PLUGIN_MAX_EXECUTION_TIMEOUT from the moment
  it is sent (not from the first chunk, as the endpoint's own timer);
- connection failures and 502s are retried (MAX_SERVERLESS_RETRY_TIMES, 3 attempts,
  0.5 s then 1 s apart);
- the answer is read with a bufio.Scanner of PLUGIN_RUNTIME_MAX_BUFFER_SIZE: a longer
  line ends the session in an error (the plugin is not killed: it is not the daemon's);
- failures become session `error` messages of type PluginDaemonInnerError or
  PluginRuntimeError, with the daemon's wording.
A dead plugin process is started again, as a serverless platform gives every call a
live instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from dify_plugin_devkit._console import say
from dify_plugin_devkit._deadline import iterate_until
from dify_plugin_devkit._errors import PluginStartError
from dify_plugin_devkit._gojson import go_json
from dify_plugin_devkit._runtime.base import (
    LINE_LIMIT,
    READY_TIMEOUT,
    InvokeFailed,
    LineSplitter,
    PluginRuntime,
    error_message,
    pipe,
)
from dify_plugin_devkit._sessions import Session, SessionMessage

Process = asyncio.subprocess.Process
# MAX_SERVERLESS_RETRY_TIMES and the backoff of invokeServerlessWithRetry
MAX_RETRY_TIMES = 3
RETRY_BACKOFF_SECONDS = 0.5
# After a refused connection, how long to wait for the instance's exit to show: a
# platform hands the retry a fresh instance when the old one died (a cold start).
DEATH_NOTICE_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def go_transport_error(error: httpx.TransportError) -> str:
    """The text Go's http.Client gives for what httpx raised (the common cases)."""
    if isinstance(error, httpx.RemoteProtocolError):
        return "EOF"  # the server closed the connection without an answer
    if isinstance(error, httpx.ConnectError):
        url = error.request.url
        return f"dial tcp {url.host}:{url.port}: connect: connection refused"
    return str(error) or type(error).__name__


def inner_error(message: str) -> SessionMessage:
    return error_message("PluginDaemonInnerError", message)


class ServerlessRuntime(PluginRuntime):
    mode = "serverless"

    def __init__(self, *args: Any, daemon_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.daemon_url = daemon_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(None, connect=10.0),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        # session id -> the process its call went to
        self._in_flight: dict[str, Process] = {}

    def mode_env(self) -> dict[str, str]:
        return {
            "INSTALL_METHOD": "serverless",
            "SERVERLESS_HOST": "127.0.0.1",
            "SERVERLESS_PORT": str(self.port),
            "DIFY_PLUGIN_DAEMON_URL": self.daemon_url,
        }

    async def launch(self, ready_timeout: float = READY_TIMEOUT) -> None:
        # a restart keeps the port, as a function URL stays (the SDK's server reuses the address)
        process = await self.spawn()
        exited = self.exited
        self.background(self._read_stdout(pipe(process.stdout)))
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if exited.is_set():
                await asyncio.sleep(0.2)
                raise self.exit_error()
            try:
                if (await self.client.get(f"{self.base_url}/health", timeout=2)).status_code == 200:
                    self.ready.set()
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        self.kill(process, "no answer on GET /health after start-up")
        raise PluginStartError(f"the plugin did not answer GET /health within {ready_timeout:.0f} s")

    async def stop(self) -> None:
        await super().stop()
        await self.client.aclose()

    def on_exit(self, process: Process) -> None:
        stranded = sum(1 for p in self._in_flight.values() if p is process)
        if stranded:
            say(
                "devkit",
                f"{stranded} call(s) in flight on it broke off: the daemon reports "
                "'failed to read response body: unexpected EOF' to them",
            )

    async def _read_stdout(self, stdout: asyncio.StreamReader) -> None:
        splitter = LineSplitter(LINE_LIMIT)  # not the protocol channel here: no daemon limit
        while chunk := await stdout.read(1 << 16):
            for raw in splitter.feed(chunk):
                self._print_stdout(raw)
            if splitter.overflow is not None:
                say("plugin:stdout", f"<a line of {splitter.overflow}+ bytes, not shown>")
                splitter = LineSplitter(LINE_LIMIT)
        if rest := splitter.rest():
            self._print_stdout(rest)

    def _print_stdout(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            return
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and event.get("event") == "log":
            self.print_log(event.get("data"))
        else:
            self.print_log({"level": "OUT", "message": line[:2000]})

    # -- sessions --------------------------------------------------------------
    async def invoke(self, session: Session, data: dict[str, Any]) -> AsyncIterator[SessionMessage]:
        action = str(data.get("action", ""))
        payload = go_json(session.envelope("request", data)).encode()
        limit = self.options.max_serverless_request_bytes
        if len(payload) > limit:
            raise InvokeFailed(
                f"ServerlessPayloadTooLarge: action={action} payload_bytes={len(payload)} max_request_bytes={limit}"
                "\nfailed to write request"
            )
        answered: list[bool] = []  # non-empty once the plugin's response headers arrived
        exchange = self._exchange(session, payload, action, answered)
        try:
            async for message in iterate_until(exchange, self.options.max_execution_timeout):
                yield message
                if message.type in ("end", "error"):
                    return
        except TimeoutError:
            # context.WithTimeout(PluginMaxExecutionTimeout) around the call
            where = "failed to read response body" if answered else "Error sending request to serverless"
            yield inner_error(f"{where}: context deadline exceeded")
        finally:
            self._in_flight.pop(session.id, None)

    async def _send(self, session: Session, payload: bytes, url: str) -> httpx.Response | str:
        """invokeServerlessWithRetry: the response, or why every attempt failed."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Dify-Plugin-Session-ID": session.id,
        }
        last = "unknown error"
        for attempt in range(1, MAX_RETRY_TIMES + 1):
            if attempt > 1:
                await asyncio.sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 2))
            # a serverless platform hands every call a live instance (a cold start at worst)
            await self.wait_ready(READY_TIMEOUT)
            request = self.client.build_request("POST", url, content=payload, headers=headers)
            process = self.process
            try:
                response = await self.client.send(request, stream=True)
            except httpx.TransportError as error:
                last = f'attempt {attempt}/{MAX_RETRY_TIMES} failed: Post "{url}": {go_transport_error(error)}'
                if process is not None and process.returncode is None:
                    # it may have just died: let its exit be noticed (the restart clears `ready`,
                    # and the next attempt waits for the new instance as a platform would)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(process.wait(), DEATH_NOTICE_SECONDS)
                continue
            if response.status_code == 502:
                await response.aclose()
                last = f"attempt {attempt}/{MAX_RETRY_TIMES} failed with status code: 502"
                continue
            if process is not None:
                self._in_flight[session.id] = process
            return response
        return f"all {MAX_RETRY_TIMES} attempts failed, last error: {last}"

    async def _exchange(
        self, session: Session, payload: bytes, action: str, answered: list[bool]
    ) -> AsyncIterator[SessionMessage]:
        url = f"{self.base_url}/invoke?action={action}"
        response = await self._send(session, payload, url)
        if isinstance(response, str):
            yield inner_error(f"Error sending request to serverless: {response}")
            return
        answered.append(True)
        try:
            if not 200 <= response.status_code < 300:
                body = (await response.aread())[:4096]
                yield self._runtime_error(response, body, f"{response.status_code} {response.reason_phrase}")
                return
            async for message in self._messages(response):
                yield message
        finally:
            await response.aclose()

    async def _messages(self, response: httpx.Response) -> AsyncIterator[SessionMessage]:
        """The session messages of one `/invoke` answer, read as the daemon's scanner reads them."""
        splitter = LineSplitter(self.options.max_stdout_line_bytes)
        has_session_event = False
        try:
            async for chunk in response.aiter_bytes():
                for line in splitter.feed(chunk):
                    message = self._parse(line)
                    if message is None:
                        continue
                    if message.type != "error" or message.data.get("error_type") not in _DAEMON_ERRORS:
                        has_session_event = True
                    yield message
                    if message.type == "end" or message.data.get("error_type") in _DAEMON_ERRORS:
                        return
                if splitter.overflow is not None:
                    yield inner_error("failed to read response body: bufio.Scanner: token too long")
                    return
        except httpx.TransportError:
            yield inner_error("failed to read response body: unexpected EOF")
            return
        if not has_session_event:
            yield self._runtime_error(response, b"", "no valid session response")
            return
        yield SessionMessage("end", {})  # the daemon ends the session when the stream ends

    def _runtime_error(self, response: httpx.Response, body: bytes, fallback: str) -> SessionMessage:
        """buildServerlessRuntimeError: the plugin's runtime answered, but not with a stream."""
        try:
            details = json.loads(body) if body else {}
        except ValueError:
            details = {}
        details = details if isinstance(details, dict) else {}
        if body:
            say(
                "devkit", f"the serverless plugin answered HTTP {response.status_code}: {body.decode(errors='replace')}"
            )
        error_type = response.headers.get("x-amzn-ErrorType") or str(details.get("errorType") or "") or fallback
        message = f"Plugin runtime request failed: {error_type}"
        if details.get("errorMessage"):
            message += f": {details['errorMessage']}"
        data = {"error_type": "PluginRuntimeError", "message": message, "args": {"status_code": response.status_code}}
        return SessionMessage("error", data)

    def _parse(self, raw: bytes) -> SessionMessage | None:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return None
        try:
            event = json.loads(text)
        except ValueError as error:
            shown = text if len(text) <= 1024 else text[:1024] + "..."
            return inner_error(f"encountered an error: {error} status: 200 OK original response: {shown}")
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "log":
            self.print_log(event.get("data"))
            return None
        if kind == "error":
            return inner_error(f"encountered an error: {json.dumps(event.get('data'))}")
        if kind != "session":
            return None
        try:
            message = SessionMessage.parse(event.get("data"))
        except ValueError as error:
            return inner_error(f"failed to parse session message {text[:200]}, err: {error}")
        if message.type == "invoke":
            # The real daemon refuses this too: app calls must use the transaction endpoint.
            return error_message("serverless_event_not_supported", "serverless event is not supported by full duplex")
        return message


# error types the daemon itself reports; any of them ends the reading (sendError)
_DAEMON_ERRORS = frozenset({"PluginDaemonInnerError", "serverless_event_not_supported"})
