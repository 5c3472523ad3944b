"""What both plugin runtimes share: spawning the process, its console, restarts.

The daemon keeps a plugin running: when its process dies (a crash, a kill, a stdout
line over the buffer limit, no heartbeat) the local runtime's schedule loop
(internal/core/local_runtime/control.go) starts a new one, and requests in flight
on the dead one are not failed by anyone (see stdio.py). The devkit does the same:
`PluginRuntime` supervises the process and starts a new one whenever it ends, until
`stop()`.
"""

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
from dify_plugin_devkit._config import DaemonOptions
from dify_plugin_devkit._console import say
from dify_plugin_devkit._declarations import PluginInfo
from dify_plugin_devkit._errors import DevkitError, PluginExited, ProtocolError
from dify_plugin_devkit._sessions import Session, SessionMessage

# Buffer limit of the asyncio readers that do not enforce the daemon's line limit
# themselves (stderr, a serverless plugin's stdout).
LINE_LIMIT = 64 * 1024 * 1024
# How long the first start and each restart may take before the plugin is ready.
READY_TIMEOUT = 60.0
# A restart that failed is tried again after this long (the daemon's schedule loop
# runs every 5 s: ScheduleLoopInterval).
RESTART_RETRY_SECONDS = 5.0


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


#: Variables of the devkit's environment that Dify's daemon never passes to a plugin and
#: that change how it runs (see PluginRuntime.plugin_env).
NOT_FROM_DIFY = frozenset({"PYTHONDONTWRITEBYTECODE"})


class InvokeFailed(ProtocolError):
    """The daemon could not even hand the request to the plugin: the endpoint answers
    500 with this text as a PluginDaemonInternalServerError (no session message)."""


class LineSplitter:
    """Cuts a byte stream into lines the way the daemon's bufio.Scanner does
    (`scanner.Buffer(..., max)` with ScanLines): a line and its newline must fit in
    `max` bytes, so a line of `max` bytes or more (without its `\\n`) ends the scan
    with ErrTooLong ("bufio.Scanner: token too long"). A trailing `\\r` is dropped."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pending = bytearray()
        # set once a line reached max_bytes: the scanner stopped, nothing more is read
        self.overflow: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """The lines `data` completes, up to the first that is too long (then `overflow`)."""
        if self.overflow is not None:
            return []
        searched = len(self._pending)  # what is pending has no newline
        self._pending += data
        lines: list[bytes] = []
        start = 0
        while (end := self._pending.find(b"\n", max(start, searched))) >= 0:
            if end - start >= self.max_bytes:
                self.overflow = end - start
                return lines
            line = bytes(self._pending[start:end])
            lines.append(line.removesuffix(b"\r"))
            start = end + 1
        del self._pending[:start]
        if len(self._pending) >= self.max_bytes:
            self.overflow = len(self._pending)
        return lines

    def rest(self) -> bytes:
        """What is left at EOF (ScanLines returns it as a last line)."""
        rest, self._pending = bytes(self._pending), bytearray()
        return rest.removesuffix(b"\r")


class PluginRuntime(ABC):
    """A supervised plugin process that endpoint sessions are sent to."""

    mode: str

    def __init__(
        self,
        plugin: PluginInfo,
        invoker: BackwardsInvoker,
        env: dict[str, str] | None = None,
        python: str | None = None,
        *,
        options: DaemonOptions | None = None,
    ) -> None:
        self.plugin = plugin
        self.invoker = invoker
        self.options = options or DaemonOptions()
        self.extra_env = dict(env or {})
        # the interpreter of the plugin's environment (Dify: the plugin's own .venv)
        self.python = python or sys.executable
        self.process: asyncio.subprocess.Process | None = None
        self._stderr_tail: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        # the current process ended (a new Event for every process)
        self.exited = asyncio.Event()
        # the current process can take requests (cleared while none is)
        self.ready = asyncio.Event()
        # how many times a dead plugin process was replaced, and why the last one ended
        self.restarts = 0
        self.last_exit: str | None = None
        self._kill_reason: str | None = None
        self._stopping = False
        self._restarting: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------
    def plugin_env(self) -> dict[str, str]:
        """The devkit's environment with the install method's variables, less what Dify
        never hands a plugin that would change how it runs. The daemon builds a plugin's
        environment from an allowlist (local_runtime/subprocess.go BuildPluginCommandEnv:
        PATH, HOME, locale, TMPDIR, TZ, CA bundles, proxies; PYTHONDONTWRITEBYTECODE is not
        on it) and pre-compiles the package (setup_python_environment.go preCompile), so a
        plugin process in Dify imports bytecode. A shell with PYTHONDONTWRITEBYTECODE=1
        would make every plugin start here compile its ~700 modules from source again
        (most of its start-up): the plugin writes its bytecode, as in Dify."""
        env = {key: value for key, value in os.environ.items() if key not in NOT_FROM_DIFY}
        env.update(self.extra_env)
        env.update(self.mode_env())
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    @abstractmethod
    def mode_env(self) -> dict[str, str]:
        """Environment variables that select this install method."""

    async def spawn(self) -> asyncio.subprocess.Process:
        self.exited = asyncio.Event()
        self.ready.clear()
        self._kill_reason = None
        self._stderr_tail = []
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
        self.background(self._watch_exit(process, self.exited))
        return process

    async def start(self, ready_timeout: float = READY_TIMEOUT) -> None:
        """Spawn the plugin and return once it can take requests; raises if it cannot
        (only the first start: later ones are restarts, retried until `stop()`)."""
        await self.launch(ready_timeout)

    @abstractmethod
    async def launch(self, ready_timeout: float = READY_TIMEOUT) -> None:
        """Spawn a plugin process and return once it is ready (sets `ready`)."""

    async def stop(self) -> None:
        self._stopping = True
        if self._restarting is not None:
            self._restarting.cancel()
            await asyncio.gather(self._restarting, return_exceptions=True)
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

    def kill(self, process: asyncio.subprocess.Process, reason: str) -> None:
        """Kill `process` (SIGKILL, Go's Process.Kill) for `reason`, as the daemon does."""
        if process is not self.process or process.returncode is not None:
            return
        if self._kill_reason is None:
            self._kill_reason = reason
        with contextlib.suppress(ProcessLookupError):
            process.kill()

    async def _watch_exit(self, process: asyncio.subprocess.Process, exited: asyncio.Event) -> None:
        code = await process.wait()
        was_ready = self.ready.is_set() and process is self.process
        if process is self.process:
            self.ready.clear()
        exited.set()
        if self._stopping or not was_ready:
            return  # stop() ended it, or launch() is waiting on it and reports the failure
        await asyncio.sleep(0.1)  # let stderr drain into the message
        if self._stopping:
            return
        reason = self._kill_reason or self._exit_text(code)
        self.last_exit = reason
        tail = "\n".join(self._stderr_tail[-15:])
        say("devkit", f"the plugin process (pid {process.pid}) ended: {reason}")
        if tail and self._kill_reason is None:
            say("devkit", f"its last stderr lines:\n{tail}")
        self.on_exit(process)
        say("devkit", "starting a new plugin process, as the daemon does")
        self._restarting = asyncio.ensure_future(self._restart())

    @staticmethod
    def _exit_text(code: int) -> str:
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"it exited with code {code}"

    async def _restart(self) -> None:
        while not self._stopping:
            try:
                await self.launch()
            except (DevkitError, OSError) as error:
                say("devkit", f"the plugin did not start again: {error}; next try in {RESTART_RETRY_SECONDS:g} s")
                await asyncio.sleep(RESTART_RETRY_SECONDS)
                continue
            self.restarts += 1
            pid = self.process.pid if self.process else None
            say("devkit", f"plugin restarted (pid {pid}, restart {self.restarts})")
            return

    def on_exit(self, process: asyncio.subprocess.Process) -> None:  # noqa: B027 - optional hook
        """Called once when a ready plugin process ended, before the restart."""

    def exit_error(self) -> PluginExited:
        code = self.process.returncode if self.process else None
        what = f"was killed: {self._kill_reason}" if self._kill_reason else f"exited with code {code}"
        tail = "\n".join(self._stderr_tail[-15:])
        return PluginExited(f"the plugin process {what}" + (f"; its last stderr lines:\n{tail}" if tail else ""))

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until a plugin process can take requests; False after `timeout` s."""
        if self.ready.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout)
        return self.ready.is_set()

    # -- console ---------------------------------------------------------------
    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        async for raw in stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stderr_tail = [*self._stderr_tail, line][-50:]
            self.on_activity()
            say("plugin:stderr", line)

    def on_activity(self) -> None:  # noqa: B027 - optional hook
        """A line on the plugin's stdout or stderr (the daemon's lastActiveAt)."""

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
        then one `end` or `error`. InvokeFailed when the request cannot be sent."""
