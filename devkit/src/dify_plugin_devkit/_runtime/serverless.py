"""Serverless install method: the plugin is an HTTP server, as when Dify scales out.

The plugin (INSTALL_METHOD=serverless) serves `POST /invoke` and streams back the
same JSON lines it would print in local mode. It cannot receive anything on that
stream, so its app calls come to the daemon as separate HTTP requests on
`/backwards-invocation/transaction` (see _daemon), carrying the session id.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from dify_plugin_devkit._errors import PluginStartError
from dify_plugin_devkit._runtime.base import PluginRuntime, error_message, pipe
from dify_plugin_devkit._sessions import Session, SessionMessage


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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

    def mode_env(self) -> dict[str, str]:
        return {
            "INSTALL_METHOD": "serverless",
            "SERVERLESS_HOST": "127.0.0.1",
            "SERVERLESS_PORT": str(self.port),
            "DIFY_PLUGIN_DAEMON_URL": self.daemon_url,
        }

    async def start(self, ready_timeout: float = 60.0) -> None:
        process = await self.spawn()
        self.background(self._read_stdout(pipe(process.stdout)))
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.exited.is_set():
                await asyncio.sleep(0.2)
                raise self.exit_error()
            try:
                if (await self.client.get(f"{self.base_url}/health", timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise PluginStartError(f"the plugin did not answer GET /health within {ready_timeout:.0f} s")

    async def stop(self) -> None:
        await super().stop()
        await self.client.aclose()

    def on_exit(self, code: int) -> None:
        """Nothing to do: an open `POST /invoke` stream breaks with the process and ends its
        session in an error; `invoke` refuses new sessions once `exited` is set."""

    async def _read_stdout(self, stdout: asyncio.StreamReader) -> None:
        async for raw in stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and event.get("event") == "log":
                self.print_log(event.get("data"))
            else:
                self.print_log({"level": "OUT", "message": line})

    async def invoke(self, session: Session, data: dict[str, Any]) -> AsyncIterator[SessionMessage]:
        if self.exited.is_set():
            yield error_message("PluginExited", str(self.exit_error()))
            return
        line = json.dumps(session.envelope("request", data), ensure_ascii=False)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Dify-Plugin-Session-ID": session.id,
        }
        url = f"{self.base_url}/invoke?action={data.get('action', '')}"
        try:
            async with self.client.stream("POST", url, content=line, headers=headers) as response:
                if not 200 <= response.status_code < 300:
                    body = (await response.aread())[:4096].decode("utf-8", "replace")
                    yield error_message(
                        "PluginRuntimeError",
                        f"Plugin runtime request failed: HTTP {response.status_code}: {body}",
                    )
                    return
                async for text in response.aiter_lines():
                    message = self._parse(text)
                    if message is None:
                        continue
                    yield message
                    if message.type in ("end", "error"):
                        return
        except httpx.TransportError as error:
            yield error_message("PluginRuntimeError", f"Plugin runtime request failed: {error!r}")
            return
        yield SessionMessage("end", {})  # the daemon closes the session when the stream ends

    def _parse(self, text: str) -> SessionMessage | None:
        text = text.strip()
        if not text:
            return None
        try:
            event = json.loads(text)
        except ValueError:
            return error_message("unmarshal_error", f"not a plugin event: {text[:200]}")
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "log":
            self.print_log(event.get("data"))
            return None
        if kind == "error":
            return error_message("PluginError", json.dumps(event.get("data")))
        if kind != "session":
            return None
        try:
            message = SessionMessage.parse(event.get("data"))
        except ValueError as error:
            return error_message("unmarshal_error", str(error))
        if message.type == "invoke":
            # The real daemon refuses this too: app calls must use the transaction endpoint.
            return error_message("serverless_event_not_supported", "serverless event is not supported by full duplex")
        return message
