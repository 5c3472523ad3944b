"""Start a plugin behind the devkit from a test, and talk to it over real HTTP.

The devkit runs as a subprocess (`python -m dify_plugin_devkit run`), exactly as
`dify-devkit run` does, so a test sees what a user would: the real plugin process on
the real `dify_plugin` runtime, the daemon's HTTP front, the demo apps.

    devkit = start_devkit("path/to/plugin", {"endpoints": [{"hook_id": "t", "settings": {...}}]})
    try:
        response = devkit.client("t").get("/duck", params={"query": "hi"})
    finally:
        devkit.stop()

The pytest plugin (`dify_devkit` fixture) wraps this with caching and clean-up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from dify_plugin_devkit._errors import PluginStartError
from dify_plugin_devkit._runtime.base import _die_with_parent

#: Install methods the devkit can run a plugin in (`mode=`).
MODES = ("local", "serverless")

Config = str | Path | Mapping[str, Any] | None


@dataclass
class RunningDevkit:
    """A devkit process that is ready to take requests."""

    process: subprocess.Popen[bytes]
    base_url: str
    # the first plugin process; a plugin that died is restarted with a new pid,
    # which `stats()["plugin_pid"]` tells
    plugin_pid: int | None
    log_path: Path
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)
    _interrupted: bool = field(default=False, repr=False)

    def url(self, hook_id: str, path: str = "") -> str:
        """The URL of `path` on endpoint instance `hook_id` (`/e/<hook_id><path>`)."""
        return f"{self.base_url}/e/{hook_id}{path}"

    def client(self, hook_id: str, *, timeout: float = 30.0, **kwargs: Any) -> httpx.Client:
        """An httpx client whose relative URLs are routes of endpoint instance `hook_id`;
        closed when the devkit stops."""
        client = httpx.Client(base_url=self.url(hook_id), timeout=timeout, **kwargs)
        self._clients.append(client)
        return client

    def stats(self) -> dict[str, Any]:
        """What ran so far: `{"app_calls": {app_id: n}, "open_sessions": n, "open_app_calls": n, ...}`, and the
        plugin process now serving: `plugin_pid`, `plugin_restarts`, `last_plugin_exit`."""
        return httpx.get(f"{self.base_url}/devkit/stats", timeout=10).json()

    def app_calls(self) -> dict[str, int]:
        """How many app calls the devkit answered so far, per app id."""
        return dict(self.stats()["app_calls"])

    def app_call_log(self) -> list[dict[str, Any]]:
        """The last app calls, oldest first: `{"app_id", "response_mode", "query",
        "conversation_id" (asked for), "used_conversation_id" (answered in)}`."""
        return list(httpx.get(f"{self.base_url}/devkit/app-calls", timeout=10).json()["calls"])

    def storage(self, encoding: str = "hex") -> dict[str, Any]:
        """The plugin's storage: `{"keys": [{"key", "size", "value"}], "used", "quota", ...}`
        (values in hex, or base64 with `encoding="base64"`)."""
        return httpx.get(f"{self.base_url}/devkit/storage", params={"encoding": encoding}, timeout=10).json()

    def files(self) -> list[dict[str, Any]]:
        """The files the plugin uploaded (`session.file.upload`), oldest first."""
        return list(httpx.get(f"{self.base_url}/devkit/files", timeout=10).json()["files"])

    def log(self) -> str:
        """Everything the devkit and the plugin printed (plugin stderr and log events)."""
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, *, timeout: float = 30.0) -> str:
        """The log once it contains `text`. The plugin's stderr and log events reach the log
        file on their own path, after the HTTP answer they belong to may have been sent: a
        test that reads the log right after a response races them on a busy machine.
        Raises AssertionError (with the log's end) when `text` has not come after `timeout`."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the devkit log after {timeout} s; it ends:\n{log[-2000:]}")
            time.sleep(0.05)
        return log

    def interrupt(self) -> None:
        """Ctrl-C the devkit and return at once (`stop()` then waits for it): several
        devkits interrupted first stop together, not one after another."""
        if self.process.poll() is None and not self._interrupted:
            self.process.send_signal(signal.SIGINT)
            self._interrupted = True

    def stop(self) -> int:
        """Ctrl-C the devkit (it stops the plugin) and return its exit code."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.process.poll() is None:
            self.interrupt()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _write_config(config: Config, workdir: Path, plugin_dir: Path) -> Path | None:
    """The configuration as a file; app files named in text or a mapping are made
    absolute from the plugin directory (the config file itself lives in `workdir`)."""
    if config is None or isinstance(config, Path):
        return config
    raw = yaml.safe_load(config) if isinstance(config, str) else dict(config)
    if isinstance(raw, dict) and isinstance(raw.get("apps"), list):
        raw["apps"] = [str(plugin_dir / a) if isinstance(a, str) else a for a in raw["apps"]]
    path = workdir / "devkit.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path


def _names_state_dir(config_path: Path | None) -> bool:
    """Whether the configuration sets `state_dir` (then it is not replaced by a fresh one)."""
    if config_path is None:
        return False
    try:
        raw = yaml.safe_load(config_path.read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and raw.get("state_dir") is not None


def start_devkit(
    plugin_dir: str | os.PathLike[str],
    config: Config = None,
    *,
    mode: str = "local",
    workdir: str | os.PathLike[str] | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 90.0,
    state_dir: str | os.PathLike[str] | None = None,
) -> RunningDevkit:
    """Start the devkit on a free port and return once the plugin is ready.

    `config` is the devkit configuration: a `Path` to a YAML file, YAML text, or a
    mapping (`{"endpoints": [...], "apps": [...], "daemon": {...}}`); None runs one
    endpoint instance `devkit` with the group's default settings. `mode` is "local"
    (stdio) or "serverless". App files named in YAML text or a mapping are relative to the
    plugin directory. `state_dir` keeps the plugin's storage and uploaded files (default:
    the configuration's `state_dir`, else a fresh `state` folder in `workdir`, so that
    tests do not share them; pass the same folder again to see what a previous devkit
    stored). Raises PluginStartError with the
    devkit's output if it does not become ready.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="dify-devkit-"))
    work.mkdir(parents=True, exist_ok=True)
    ready = work / "ready.json"
    ready.unlink(missing_ok=True)
    args = [
        sys.executable,
        "-m",
        "dify_plugin_devkit",
        "run",
        os.fspath(plugin_dir),
        "--port",
        "0",
        "--ready-file",
        str(ready),
    ]
    config_path = _write_config(config, work, Path(plugin_dir).resolve())
    if config_path is not None:
        args += ["--config", str(config_path)]
    if state_dir is not None:
        args += ["--state-dir", str(Path(state_dir).resolve())]
    elif not _names_state_dir(config_path):
        args += ["--state-dir", str((work / "state").resolve())]
    args += extra_args
    if mode == "serverless":
        args.append("--serverless")
    log_path = work / "devkit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - an argv list, no shell; the caller chose the plugin and args
            args,
            cwd=plugin_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            # a test run that is killed (a pytest-xdist worker that crashed, a Ctrl-C'd
            # make test) leaves no devkit behind: the kernel stops it with its parent
            # (with the thread that started it: start devkits from the main thread)
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    deadline = time.monotonic() + ready_timeout
    while not ready.exists() or not ready.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise PluginStartError(f"the devkit did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return RunningDevkit(process, info["base_url"], info.get("plugin_pid"), log_path)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))
