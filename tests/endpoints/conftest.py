"""The gallery plugin behind the devkit, in both install methods, for every endpoint test."""

from __future__ import annotations

import pytest

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit
from tests.conftest import FIXTURES


@pytest.fixture(scope="session", params=MODES)
def gallery(request: pytest.FixtureRequest, dify_devkit: DevkitFactory) -> RunningDevkit:
    return dify_devkit(config=FIXTURES / "gallery.yaml", mode=request.param)
