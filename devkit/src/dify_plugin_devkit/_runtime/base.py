"""What both plugin runtimes share: spawning the process, its console, its messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from dify_plugin_devkit._backwards import BackwardsInvoker
from dify_plugin_devkit._console import say
from dify_plugin_devkit._declarations import PluginInfo
from dify_plugin_devkit._errors import PluginExited
from dify_plugin_devkit._sessions import Session, SessionMessage

# Lines carry hex of whole response chunks; leave ample room.
LINE_LIMIT = 64 * 1024 * 1024


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the kernel kills the plugin if the devkit dies, so no orphan survives
    even a SIGKILL of the devkit (the SDK's own parent check covers stdio only)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def pipe[Stream](stream: Stream | None) -> Stream:
    """One of the plugin process's pipes: `spawn` asks for all three, so none is None."""
    if stream is None:
        raise RuntimeError("the plugin process was spawned without this pipe")
    return stream


def error_message(error_type: str, message: str) -> SessionMessage:
    """A session `error` message as the daemon synthesizes one."""
    return SessionMessage("error", {"error_type": error_type, "message": message, "args": None})


class PluginRuntime(ABC):
    """A running plugin process that endpoint sessions are sent to."""

    mode: str

    def __init__(
        self,
        plugin: PluginInfo,
        invoker: BackwardsInvoker,
        env: dict[str, str] | None = None,
        python: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.invoker = invoker
        self.extra_env = dict(env or {})
        # the interpreter of the plugin's environment (Dify: the plugin's own .venv)
        self.python = python or sys.executable
        self.process: asyncio.subprocess.Process | None = None
        self._stderr_tail: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.exited = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------
    def plugin_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env.update(self.mode_env())
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    @abstractmethod
    def mode_env(self) -> dict[str, str]:
        """Environment variables that select this install method."""

    async def spawn(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            self.plugin.entrypoint,
            cwd=self.plugin.root,
            env=self.plugin_env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.process = process
        self.background(self._read_stderr(pipe(process.stderr)))
        self.background(self._watch_exit(process))
        return process

    @abstractmethod
    async def start(self, ready_timeout: float = 60.0) -> None:
        """Spawn the plugin and return once it can take requests."""

    async def stop(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def background(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _watch_exit(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        self.exited.set()
        self.on_exit(code)

    @abstractmethod
    def on_exit(self, code: int) -> None:
        """Called once when the plugin process ended: what that means for open sessions."""

    def exit_error(self) -> PluginExited:
        code = self.process.returncode if self.process else None
        tail = "\n".join(self._stderr_tail[-15:])
        return PluginExited(
            f"the plugin process exited with code {code}" + (f"; its last stderr lines:\n{tail}" if tail else "")
        )

    # -- console ---------------------------------------------------------------
    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        async for raw in stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stderr_tail = [*self._stderr_tail, line][-50:]
            say("plugin:stderr", line)

    @staticmethod
    def print_log(data: Any) -> None:
        if isinstance(data, dict):
            say("plugin", f"{data.get('level', 'INFO')}: {data.get('message', '')}")
        else:
            say("plugin", json.dumps(data))

    # -- sessions --------------------------------------------------------------
    @abstractmethod
    def invoke(self, session: Session, data: dict[str, Any]) -> AsyncIterator[SessionMessage]:
        """Send `data` as the session's request; yield the plugin's `stream` messages,
        then one `end` or `error`."""
