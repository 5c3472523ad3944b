"""Start and stop: `make dev` prints what to click, Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import MODES, ROOT, pid_alive, start_devkit


@pytest.mark.parametrize("mode", MODES)
def test_interrupt_stops_devkit_and_plugin(tmp_path: Path, mode: str) -> None:
    devkit = start_devkit(tmp_path, None, mode=mode, extra_args=("--config", str(ROOT / "devkit.yaml")))
    assert devkit.plugin_pid is not None and pid_alive(devkit.plugin_pid)
    assert devkit.stop() == 0
    deadline = time.monotonic() + 10
    while pid_alive(devkit.plugin_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(devkit.plugin_pid)


def test_killed_devkit_takes_its_plugin_down(tmp_path: Path) -> None:
    """Even SIGKILL of the devkit (no chance to clean up) leaves no orphan plugin."""
    devkit = start_devkit(tmp_path, None, mode="serverless", extra_args=("--config", str(ROOT / "devkit.yaml")))
    devkit.process.kill()
    devkit.process.wait()
    deadline = time.monotonic() + 10
    while pid_alive(devkit.plugin_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(devkit.plugin_pid)


def test_make_dev_prints_urls_and_curl_lines_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = 5600 + os.getpid() % 300
    others = set(plugin_processes(ROOT))  # other tests' devkits may run the gallery too
    process = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"PORT={port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        banner = "".join(lines)
        url = f"http://127.0.0.1:{port}/e/gallery/duck?query=Hello%20duck"
        assert url in banner
        assert f"curl -N '{url}'" in banner
        assert f"curl -N -X POST 'http://127.0.0.1:{port}/e/gallery/workflow'" in banner
        assert httpx.get(url, timeout=30).status_code == 200
        ours = set(plugin_processes(ROOT)) - others
        assert ours, "make dev should have started the plugin"
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rest, _ = process.communicate(timeout=20)
    assert "[devkit] stopping" in rest
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health/check", timeout=2)
    assert not [pid for pid in ours if pid_alive(pid)]


def plugin_processes(root: Path) -> list[int]:
    """Pids of `python -m main` processes running in `root` (the gallery plugin)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if cmdline[1:3] == [b"-m", b"main"] and Path(cwd) == root and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found
