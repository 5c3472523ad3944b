"""The gallery plugin behind the devkit, in both install methods, for every endpoint test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import FIXTURES, MODES, RunningDevkit, start_devkit


@pytest.fixture(scope="session", params=MODES)
def gallery(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    config = (FIXTURES / "gallery.yaml").read_text().replace("[gallery_apps.yaml]", f"[{FIXTURES / 'gallery_apps.yaml'}]")
    devkit = start_devkit(tmp_path_factory.mktemp(f"gallery-{request.param}"), config, mode=request.param)
    yield devkit
    devkit.stop()


def app_calls(gallery: RunningDevkit) -> dict[str, int]:
    """How many app calls the devkit answered so far, per app id."""
    return httpx.get(f"{gallery.base_url}/devkit/stats", timeout=10).json()["app_calls"]
