"""Paths of the devkit's own test fixtures (never the gallery's: the devkit is generic)."""

from pathlib import Path

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
