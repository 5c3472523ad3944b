"""Local install method: the plugin speaks JSON lines over stdin/stdout.

This is how the daemon runs a plugin installed from a package on a single host
(INSTALL_METHOD=local). One process serves every session at once; messages are
routed by session id, and the plugin's app calls are answered on its stdin.
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
from dify_plugin_devkit._runtime.base import PluginRuntime, error_message, pipe
from dify_plugin_devkit._sessions import Session, SessionMessage, SessionRegistry


class StdioRuntime(PluginRuntime):
    mode = "local"

    def __init__(self, *args: Any, sessions: SessionRegistry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = sessions
        self.ready = asyncio.Event()
        self.last_heartbeat: float | None = None
        self._write_lock = asyncio.Lock()

    def mode_env(self) -> dict[str, str]:
        return {"INSTALL_METHOD": "local"}

    async def start(self, ready_timeout: float = 60.0) -> None:
        process = await self.spawn()
        self.background(self._read_stdout(pipe(process.stdout)))
        # The daemon marks a local instance ready on its first heartbeat.
        ready = asyncio.ensure_future(self.ready.wait())
        exited = asyncio.ensure_future(self.exited.wait())
        done, _ = await asyncio.wait({ready, exited}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        exited.cancel()
        if self.exited.is_set():
            # let stderr drain so the error shows the traceback
            await asyncio.sleep(0.2)
            raise self.exit_error()
        if not done:
            raise PluginStartError(f"the plugin sent no heartbeat within {ready_timeout:.0f} s")

    def on_exit(self, code: int) -> None:
        for session in self.sessions:
            session.inbox.put_nowait(error_message("PluginExited", str(self.exit_error())))

    async def write_line(self, message: dict[str, Any]) -> None:
        if self.process is None:
            raise RuntimeError("write_line before start(): there is no plugin process")
        stdin = pipe(self.process.stdin)
        data = json.dumps(message, ensure_ascii=False).encode() + b"\n"
        async with self._write_lock:
            stdin.write(data)
            await stdin.drain()

    async def invoke(self, session: Session, data: dict[str, Any]) -> AsyncIterator[SessionMessage]:
        if self.exited.is_set():
            yield error_message("PluginExited", str(self.exit_error()))
            return
        await self.write_line(session.envelope("request", data))
        while True:
            message = await session.inbox.get()
            yield message
            if message.type in ("end", "error"):
                return

    # -- plugin → daemon -------------------------------------------------------
    async def _read_stdout(self, stdout: asyncio.StreamReader) -> None:
        async for raw in stdout:
            line = raw.strip()
            if line:
                self._dispatch(line)

    def _dispatch(self, line: bytes) -> None:
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
            self.ready.set()
        elif kind == "log":
            self.print_log(event.get("data"))
        elif kind == "error":
            say("plugin:error", json.dumps(event.get("data"), ensure_ascii=False))
        elif kind == "session":
            self._route(event.get("session_id"), event.get("data"))
        else:
            say("plugin:stdout", f"unknown event {kind!r}: {line[:200].decode('utf-8', 'replace')}")

    def _route(self, session_id: Any, data: Any) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return  # the client went away; the daemon drops these too
        try:
            message = SessionMessage.parse(data)
        except ValueError as error:
            session.inbox.put_nowait(error_message("unmarshal_error", str(error)))
            return
        if message.type == "invoke":
            self.background(self._answer(session, message.data))
        else:
            session.inbox.put_nowait(message)

    async def _answer(self, session: Session, data: dict[str, Any]) -> None:
        try:
            invoke = parse_invoke(data)
        except InvokeRequestError as error:
            session.inbox.put_nowait(error_message("invoke_dify_error", f"invoke dify failed: {error}"))
            return
        async for payload in self.invoker.answer(*invoke):
            if self.exited.is_set():
                return
            await self.write_line(session.envelope("backwards_response", payload))
