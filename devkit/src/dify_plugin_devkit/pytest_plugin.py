"""pytest plugin (registered through the `pytest11` entry point): the `dify_devkit` fixture.

    def test_duck_answers(dify_devkit):
        devkit = dify_devkit(settings={"chat_app": "demo-chat-echo"})
        page = devkit.client("test").get("/duck", params={"query": "hi"})
        assert "Turn 1: hi" in page.text
        assert devkit.app_calls()["demo-chat-echo"] == 1

`dify_devkit(...)` starts the plugin directory behind the devkit and returns a
`RunningDevkit`. Devkits are shared for the whole test session: a second call with
the same arguments returns the running one, so many tests cost one start-up. All of
them are stopped when the session ends.

The plugin directory is the `dify_plugin_dir` ini option (relative to the rootdir),
else the rootdir itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dify_plugin_devkit.testing import RunningDevkit, start_devkit

#: The hook id of the endpoint instance `dify_devkit(settings=...)` declares.
DEFAULT_HOOK_ID = "test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "dify_plugin_dir", "the Dify plugin the dify_devkit fixture runs (default: the rootdir)", default=None
    )


class DevkitFactory:
    """What the `dify_devkit` fixture is: call it to get a running devkit."""

    def __init__(self, plugin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.plugin_dir = plugin_dir
        self._tmp = tmp_path_factory
        self._running: dict[str, RunningDevkit] = {}

    def __call__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        endpoints: Mapping[str, Mapping[str, Any]] | None = None,
        apps: Sequence[Mapping[str, Any] | str] = (),
        config: str | Path | Mapping[str, Any] | None = None,
        mode: str = "local",
        plugin_dir: str | Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> RunningDevkit:
        """A devkit running the plugin, started on first use.

        - `settings`: one endpoint instance, hook id "test", with these settings;
        - `endpoints`: several, as `{hook_id: settings}`;
        - `apps`: apps besides the demo apps: mappings (declared inline, in the
          demo-app format) or fixture files relative to the plugin directory;
        - `config`: a whole devkit configuration instead (a Path, YAML text or a mapping);
        - `mode`: "local" (stdio) or "serverless"; `plugin_dir`: another plugin.
        """
        if config is None:
            instances = dict(endpoints or {})
            if settings is not None:
                instances[DEFAULT_HOOK_ID] = settings
            config = (
                {
                    "endpoints": [{"hook_id": hook, "settings": dict(values)} for hook, values in instances.items()],
                    "apps": list(apps),
                }
                if instances
                else None
            )
        elif settings is not None or endpoints is not None or apps:
            raise TypeError("pass either config= or settings=/endpoints=/apps=, not both")
        root = Path(plugin_dir).resolve() if plugin_dir is not None else self.plugin_dir
        key = json.dumps([str(root), _config_key(config), mode, list(extra_args)], default=str)
        devkit = self._running.get(key)
        if devkit is None or devkit.process.poll() is not None:
            workdir = self._tmp.mktemp(f"dify-devkit-{mode}")
            devkit = start_devkit(root, config, mode=mode, workdir=workdir, extra_args=extra_args)
            self._running[key] = devkit
        return devkit

    def stop_all(self) -> None:
        running = list(self._running.values())
        self._running.clear()
        for devkit in running:  # Ctrl-C every one first: they stop in parallel
            devkit.interrupt()
        for devkit in running:
            devkit.stop()


def _config_key(config: str | Path | Mapping[str, Any] | None) -> Any:
    if isinstance(config, Path):
        return ["file", str(config.resolve()), config.stat().st_mtime_ns]
    return config


@pytest.fixture(scope="session")
def dify_devkit(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevkitFactory]:
    """Start the plugin behind the devkit: `dify_devkit(settings={...})` → RunningDevkit."""
    configured = pytestconfig.getini("dify_plugin_dir")
    plugin_dir = (pytestconfig.rootpath / configured).resolve() if configured else pytestconfig.rootpath
    factory = DevkitFactory(plugin_dir, tmp_path_factory)
    yield factory
    factory.stop_all()
