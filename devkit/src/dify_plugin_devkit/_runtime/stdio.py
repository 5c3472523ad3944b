"""Local install method: the plugin speaks JSON lines over stdin/stdout.

This is how the daemon runs a plugin installed from a package on a single host
(INSTALL_METHOD=local). One process serves every session at once; messages are
routed by session id, and the plugin's app calls are answered on its stdin.

What the daemon does around the process (internal/core/local_runtime/instance.go):
- stdout is read with a bufio.Scanner whose buffer is PLUGIN_RUNTIME_MAX_BUFFER_SIZE
  (5 MiB): a longer line ends the scan (ErrTooLong), and the daemon kills the process
  once it stops reading (StartStdout);
- `Monitor` kills a process that sent nothing (no heartbeat, stdout or stderr line)
  for more than MAX_HEARTBEAT_INTERVAL (120 s), checking every 30 s;
- a dead process is replaced by the schedule loop; sessions that were running on it
  are never told: their listeners wait for messages that cannot come;
- a request that finds no live process is retried every 300 ms for 6 s
  (io_tunnel/generic.go invokePluginOnce), then answered 500;
- when the HTTP client goes away, the session's listener closes and its app calls
  are cut: they run on the endpoint request's context (Session.propagateTraceContext
  binds it to the backwards invocation), and their answers can no longer be written
  (LocalPluginRuntime.Write: ErrSessionNotFound). The plugin is not told: its app
  stream just gets nothing more, until the SDK gives up (MAX_INVOCATION_TIMEOUT).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from dify_plugin_devkit._backwards import InvokeRequestError, parse_invoke
from dify_plugin_devkit._console import say
from dify_plugin_devkit._errors import PluginStartError
from dify_plugin_devkit._gojson import go_json
from dify_plugin_devkit._runtime.base import (
    READY_TIMEOUT,
    InvokeFailed,
    LineSplitter,
    PluginRuntime,
    error_message,
    pipe,
)
from dify_plugin_devkit._sessions import Session, SessionMessage, SessionRegistry

Process = asyncio.subprocess.Process
# io_tunnel/generic.go: writeRetryBudget and writeRetryInterval
WRITE_RETRY_BUDGET = 6.0
WRITE_RETRY_INTERVAL = 0.3
_PIPE_ERRORS = (BrokenPipeError, ConnectionResetError)


class StdioRuntime(PluginRuntime):
    mode = "local"

    def __init__(self, *args: Any, sessions: SessionRegistry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = sessions
        self.last_heartbeat: float | None = None
        self.last_active = time.monotonic()
        self._write_lock = asyncio.Lock()
        # session id -> the process its request went to
        self._in_flight: dict[str, Process] = {}
        # session id -> the app calls being answered for it (cut when it closes)
        self._answers: dict[str, set[asyncio.Task[None]]] = {}

    def mode_env(self) -> dict[str, str]:
        return {"INSTALL_METHOD": "local"}

    async def launch(self, ready_timeout: float = READY_TIMEOUT) -> None:
        process = await self.spawn()
        exited = self.exited
        self.last_active = time.monotonic()
        self.background(self._read_stdout(process, pipe(process.stdout)))
        # The daemon marks a local instance ready on its first heartbeat.
        waiters = {asyncio.ensure_future(self.ready.wait()), asyncio.ensure_future(exited.wait())}
        await asyncio.wait(waiters, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if exited.is_set():
            # let stderr drain so the error shows the traceback
            await asyncio.sleep(0.2)
            raise self.exit_error()
        if not self.ready.is_set():
            self.kill(process, "no heartbeat after start-up")
            raise PluginStartError(f"the plugin sent no heartbeat within {ready_timeout:.0f} s")
        self.background(self._monitor(process))

    def on_exit(self, process: Process) -> None:
        stranded = sum(1 for p in self._in_flight.values() if p is process)
        if stranded:
            say(
                "devkit",
                f"{stranded} request(s) in flight on it get no answer from it; like the daemon, the devkit "
                "does not fail them: one whose response began ends with 'killed by timeout' after "
                f"{self.options.max_execution_timeout:g} s (daemon.max_execution_timeout), one that had not "
                "begun waits until its client gives up",
            )

    async def write_line(self, process: Process, message: dict[str, Any]) -> None:
        data = go_json(message).encode() + b"\n"
        async with self._write_lock:
            stdin = pipe(process.stdin)
            stdin.write(data)
            await stdin.drain()

    async def _send(self, line: dict[str, Any]) -> Process:
        """Write a request to a live process, retrying like invokePluginOnce; the
        process it went to, or InvokeFailed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WRITE_RETRY_BUDGET
        last_error = "no proper instance"
        while True:
            process = self.process
            if self.ready.is_set() and process is not None and process.returncode is None:
                try:
                    await self.write_line(process, line)
                except _PIPE_ERRORS:
                    last_error = "write |1: broken pipe"
                else:
                    return process
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise InvokeFailed(f"{last_error}\nfailed to write request")
            if self.ready.is_set():
                await asyncio.sleep(min(remaining, WRITE_RETRY_INTERVAL))
            else:
                await self.wait_ready(remaining)

    async def invoke(self, session: Session, data: dict[str, Any]) -> AsyncIterator[SessionMessage]:
        process = await self._send(session.envelope("request", data))
        self._in_flight[session.id] = process
        try:
            while True:
                message = await session.inbox.get()
                yield message
                if message.type in ("end", "error"):
                    return
        finally:
            self._in_flight.pop(session.id, None)
            for answer in self._answers.pop(session.id, set()):
                answer.cancel()  # the daemon's app call ends with the client's request

    # -- supervision -------------------------------------------------------------
    def on_activity(self) -> None:
        self.last_active = time.monotonic()

    async def _monitor(self, process: Process) -> None:
        """instance.Monitor: kill a plugin that went silent."""
        timeout = self.options.heartbeat_timeout
        while process.returncode is None and process is self.process:
            await asyncio.sleep(timeout / 4)
            idle = time.monotonic() - self.last_active
            if idle > timeout:
                self.kill(
                    process,
                    f"it sent no heartbeat (nor any stdout or stderr line) for {idle:.1f} s; the daemon kills "
                    f"a plugin silent for more than {timeout:g} s (MAX_HEARTBEAT_INTERVAL, daemon.heartbeat_timeout)",
                )
                return

    # -- plugin → daemon -------------------------------------------------------
    async def _read_stdout(self, process: Process, stdout: asyncio.StreamReader) -> None:
        limit = self.options.max_stdout_line_bytes
        splitter = LineSplitter(limit)
        while chunk := await stdout.read(1 << 16):
            for line in splitter.feed(chunk):
                self._dispatch(process, line)
            if splitter.overflow is not None:
                self.kill(
                    process,
                    f"a stdout line reached {limit} bytes (bufio.Scanner: token too long): the daemon "
                    f"(PLUGIN_RUNTIME_MAX_BUFFER_SIZE, daemon.max_stdout_line_bytes) stops reading and kills "
                    f"the plugin. A response chunk travels hex-encoded in one line: keep chunks under "
                    f"{limit // 2 - 1024} bytes",
                )
                return
        if rest := splitter.rest():
            self._dispatch(process, rest)

    def _dispatch(self, process: Process, raw: bytes) -> None:
        line = raw.strip()
        if not line:
            return
        self.on_activity()
        try:
            event = json.loads(line)
        except ValueError:
            say("plugin:stdout", line.decode("utf-8", "replace"))
            return
        if not isinstance(event, dict) or "event" not in event:
            if isinstance(event, dict) and "name" in event and "version" in event:
                say("devkit", f"plugin declared itself: {event['name']} {event['version']}")
            else:
                say("plugin:stdout", line.decode("utf-8", "replace"))
            return
        kind = event["event"]
        if kind == "heartbeat":
            self.last_heartbeat = time.monotonic()
            if process is self.process:
                self.ready.set()
        elif kind == "log":
            self.print_log(event.get("data"))
        elif kind == "error":
            say("plugin:error", json.dumps(event.get("data"), ensure_ascii=False))
        elif kind == "session":
            self._route(process, event.get("session_id"), event.get("data"))
        else:
            say("plugin:stdout", f"unknown event {kind!r}: {line[:200].decode('utf-8', 'replace')}")

    def _route(self, process: Process, session_id: Any, data: Any) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return  # the client went away; the daemon drops these too
        try:
            message = SessionMessage.parse(data)
        except ValueError as error:
            session.inbox.put_nowait(error_message("unmarshal_error", str(error)))
            return
        if message.type == "invoke":
            answer = self.background(self._answer(process, session, message.data))
            answers = self._answers.setdefault(session.id, set())
            answers.add(answer)
            answer.add_done_callback(answers.discard)
        else:
            session.inbox.put_nowait(message)

    async def _answer(self, process: Process, session: Session, data: dict[str, Any]) -> None:
        try:
            invoke = parse_invoke(data)
        except InvokeRequestError as error:
            session.inbox.put_nowait(error_message("invoke_dify_error", f"invoke dify failed: {error}"))
            return
        session.count_call(invoke[0])
        async for payload in self.invoker.answer(*invoke):
            if process.returncode is not None or session.closed:
                return
            try:
                await self.write_line(process, session.envelope("backwards_response", payload))
            except _PIPE_ERRORS:
                return
