"""Start and stop: Ctrl-C leaves no process behind, nor does a killed devkit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit.testing import MODES, pid_alive, start_devkit

CONFIG = {"endpoints": [{"hook_id": "probe", "settings": {"greeting": "hi", "app": "demo-chat-echo"}}]}


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


@pytest.mark.parametrize("mode", MODES)
def test_interrupt_stops_devkit_and_plugin(tmp_path: Path, mode: str) -> None:
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, workdir=tmp_path, mode=mode)
    assert devkit.plugin_pid is not None
    assert pid_alive(devkit.plugin_pid)
    assert devkit.stop() == 0
    assert wait_gone(devkit.plugin_pid)


def test_killed_devkit_takes_its_plugin_down(tmp_path: Path) -> None:
    """Even SIGKILL of the devkit (no chance to clean up) leaves no orphan plugin."""
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, workdir=tmp_path, mode="serverless")
    assert devkit.plugin_pid is not None
    devkit.process.kill()
    devkit.process.wait()
    assert wait_gone(devkit.plugin_pid)


def test_the_plugin_process_writes_its_bytecode_as_in_dify(tmp_path: Path) -> None:
    """Dify's daemon never hands a plugin PYTHONDONTWRITEBYTECODE (its environment comes
    from an allowlist): a devkit started from a shell that sets it still lets the plugin
    write bytecode, so the next start imports it instead of compiling every module again."""
    plugin = tmp_path / "probe"
    shutil.copytree(PROBE_PLUGIN, plugin, ignore=shutil.ignore_patterns("__pycache__"))
    devkit = start_devkit(plugin, CONFIG, workdir=tmp_path / "work", env={"PYTHONDONTWRITEBYTECODE": "1"})
    try:
        assert list((plugin / "endpoints" / "__pycache__").glob("probe.cpython-*.pyc"))
    finally:
        assert devkit.stop() == 0
