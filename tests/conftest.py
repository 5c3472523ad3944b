"""Shared fixtures: the devkit started as a real subprocess, hit over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PROBE_PLUGIN = FIXTURES / "plugins" / "probe"
MODES = ("local", "serverless")


@dataclass
class RunningDevkit:
    """A `python -m devkit` process that is ready to take requests."""

    process: subprocess.Popen[str]
    base_url: str
    plugin_pid: int | None
    log_path: Path

    def url(self, hook_id: str, path: str) -> str:
        return f"{self.base_url}/e/{hook_id}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_devkit(
    workdir: Path,
    config: str | None,
    *,
    plugin_dir: Path = ROOT,
    mode: str = "local",
    extra_args: tuple[str, ...] = (),
    ready_timeout: float = 90.0,
) -> RunningDevkit:
    """Start the devkit on a free port with `config` (YAML text) and wait until ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "ready.json"
    ready.unlink(missing_ok=True)
    args = [sys.executable, "-m", "devkit", str(plugin_dir), "--port", "0", "--ready-file", str(ready), *extra_args]
    if config is not None:
        config_path = workdir / "devkit.yaml"
        config_path.write_text(config)
        args += ["--config", str(config_path)]
    if mode == "serverless":
        args.append("--serverless")
    log_path = workdir / "devkit.log"
    log = log_path.open("w")
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + ready_timeout
    while not ready.exists() or not ready.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"devkit did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return RunningDevkit(process, info["base_url"], info.get("plugin_pid"), log_path)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(30.0)) as c:
        yield c
