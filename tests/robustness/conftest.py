"""The gallery plugin behind the devkit for the robustness tests, in both install methods,
with the greenlet probe loaded into the plugin (see support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit
from tests.robustness.support import config, plugin_dir


@dataclass
class Robust:
    """A running devkit, its install method and the folder of its greenlet probe."""

    devkit: RunningDevkit
    mode: str
    probe_dir: Path


def start(mode: str, workdir: Path) -> Robust:
    probe_dir = workdir / "probe"
    probe_dir.mkdir(parents=True, exist_ok=True)
    devkit = start_devkit(plugin_dir(), config(probe_dir), mode=mode, workdir=workdir)
    return Robust(devkit, mode, probe_dir)


@pytest.fixture(scope="session", params=MODES)
def robust(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Robust]:
    running = start(request.param, tmp_path_factory.mktemp(f"robust-{request.param}"))
    yield running
    running.devkit.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One client for a whole fuzz (a new one per example would cost more than the request)."""
    with httpx.Client(timeout=60) as c:
        yield c
