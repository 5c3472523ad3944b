"""Shared fixtures of the plugin's tests.

The plugin runs behind the devkit through its pytest plugin (`dify_devkit`, from the
dify-plugin-devkit package): a real plugin process, hit over real HTTP. Names of this
plugin (its hook ids, its routes) come from `manifest.yaml` and the devkit
configurations, not from literals, so a copy of this template can keep these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
#: The demo configuration `make dev` runs.
DEV_CONFIG = ROOT / "dev" / "devkit.yaml"


def manifest() -> dict[str, Any]:
    """The plugin's manifest.yaml."""
    return yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(30.0)) as c:
        yield c
