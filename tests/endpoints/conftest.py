"""The gallery plugin behind the devkit, in both install methods, for every endpoint test."""

from __future__ import annotations

import pytest

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit
from tests.conftest import FIXTURES, manifest


@pytest.fixture(scope="session", params=MODES)
def gallery(request: pytest.FixtureRequest, dify_devkit: DevkitFactory) -> RunningDevkit:
    return dify_devkit(config=FIXTURES / "gallery.yaml", mode=request.param)


@pytest.fixture(scope="session", params=MODES)
def broken_storage(
    request: pytest.FixtureRequest, dify_devkit: DevkitFactory, tmp_path_factory: pytest.TempPathFactory
) -> RunningDevkit:
    """The gallery behind a devkit whose file storage fails (Dify's storage down): the
    signed upload URL answers 500."""
    state = tmp_path_factory.mktemp(f"broken-storage-{request.param}")
    plugin = state / manifest()["author"] / manifest()["name"]
    plugin.mkdir(parents=True)
    (plugin / "files").write_text("not a folder: every upload fails")
    config = {
        "state_dir": str(state),
        "endpoints": [{"hook_id": "files", "settings": {"workflow_app": "demo-file-echo"}}],
    }
    return dify_devkit(config=config, mode=request.param)
