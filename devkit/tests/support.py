"""Paths of the devkit's own test fixtures (never the gallery's: the devkit is generic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dify_plugin_devkit.testing import RunningDevkit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: A plugin whose endpoints echo the request and relay app calls (protocol tests).
PROBE_PLUGIN = FIXTURES / "plugins" / "probe"
#: A minimal valid plugin (check and package tests).
GOOD_PLUGIN = FIXTURES / "plugins" / "good"
#: A pyproject.toml + uv.lock pair (requirements export tests).
UV_PROJECT = FIXTURES / "uv_project"
PROBE_APPS = FIXTURES / "probe_apps.yaml"
#: Plugins with one small third-party dependency (`inflection`): in pyproject.toml +
#: uv.lock, and in requirements.txt (the environment `run` and `check` build as Dify does).
TITLED_UV_PLUGIN = FIXTURES / "plugins" / "titled_uv"
TITLED_PIP_PLUGIN = FIXTURES / "plugins" / "titled_pip"


def call(probe: RunningDevkit, kind: str, **ask: Any) -> list[dict[str, Any]]:
    """What the probe plugin streamed for one app call (`POST /app` on hook `probe`):
    `{"event": ...}` a line, `{"error": text}` last on failure."""
    response = probe.client("probe").post("/app", json={"kind": kind, **ask})
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def events(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of a call that did not fail."""
    assert all("error" not in line for line in lines), lines
    return [line["event"] for line in lines]
