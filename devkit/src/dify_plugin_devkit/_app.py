"""The devkit as one object: plugin process + daemon front + demo apps.

`make dev`, the tests and the benchmarks all start it the same way, either as
`dify-devkit run` (a subprocess) or in-process:

    async with Devkit(DevkitOptions(plugin_dir=Path("."))) as devkit:
        ...  # devkit.base_url
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiohttp import web

from dify_plugin_devkit._apps import DEFAULT_APPS_FILE, AppBackend
from dify_plugin_devkit._backwards import BackwardsInvoker
from dify_plugin_devkit._config import DevkitConfig, load_config
from dify_plugin_devkit._console import say
from dify_plugin_devkit._daemon import Daemon
from dify_plugin_devkit._declarations import PluginInfo, load_plugin
from dify_plugin_devkit._difypkg import unpack
from dify_plugin_devkit._index import index_page
from dify_plugin_devkit._runtime import PluginRuntime, ServerlessRuntime, StdioRuntime
from dify_plugin_devkit._sessions import SessionRegistry
from dify_plugin_devkit._state import DEFAULT_STATE_DIR, PluginState


@dataclass
class DevkitOptions:
    plugin_dir: Path = Path(".")
    config_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5002  # 0 picks a free port
    serverless: bool = False
    package: Path | None = None  # run from a .difypkg instead of plugin_dir
    max_execution_timeout: float | None = None  # overrides devkit.yaml
    extra_env: dict[str, str] = field(default_factory=dict)
    # written with {base_url, plugin_pid} once ready; the pid is the first process's
    # (a restarted plugin has a new one: GET /devkit/stats tells the current pid)
    ready_file: Path | None = None
    python: str | None = None  # the plugin's interpreter (default: the devkit's own)
    # storage and uploaded files (overrides devkit.yaml's state_dir; default
    # <plugin_dir>/.devkit-state, also with --package)
    state_dir: Path | None = None
    # a line per request on stderr (`run` does; `--log-all` adds the polled /health/check,
    # /devkit/* and serverless app-call requests)
    request_log: bool = False
    log_all_requests: bool = False


class Devkit:
    def __init__(self, options: DevkitOptions) -> None:
        self.options = options
        self.plugin: PluginInfo | None = None
        self.config: DevkitConfig | None = None
        self.apps: AppBackend | None = None
        self.state: PluginState | None = None
        self.runtime: PluginRuntime | None = None
        self._runner: web.AppRunner | None = None
        self._unpacked: Path | None = None
        self.port = options.port

    @property
    def base_url(self) -> str:
        return f"http://{self.options.host}:{self.port}"

    def load(self) -> None:
        """Read and validate everything; raises before any process or socket exists."""
        plugin_dir = self.options.plugin_dir
        if self.options.package is not None:
            self._unpacked = Path(tempfile.mkdtemp(prefix="devkit-pkg-"))
            plugin_dir = unpack(self.options.package, self._unpacked)
        self.plugin = load_plugin(plugin_dir)
        self.config = load_config(self.options.config_path, self.plugin.settings)
        if self.options.max_execution_timeout is not None:
            daemon = replace(self.config.daemon, max_execution_timeout=self.options.max_execution_timeout)
            self.config = replace(self.config, daemon=daemon)
        state_dir = self.options.state_dir or self.config.state_dir or self.options.plugin_dir / DEFAULT_STATE_DIR
        self.state = PluginState.open(state_dir, self.plugin, base_url=lambda: self.base_url)
        self.apps = AppBackend.from_files(
            DEFAULT_APPS_FILE,
            *self.config.app_files,
            extra=self.config.inline_apps,
            file_lookup=self.state.uploads.app_file,  # `tool_file_id` inputs: files the plugin uploaded
            real_apps=self.config.real_apps,  # answered by a real Dify's Service API
            dify=self.config.dify,  # which Dify's behaviour (version, quirks)
            dsl_apps=self.config.dsl_apps,  # apps from Dify DSL files
        )

    async def start(self) -> None:
        if self.plugin is None:
            self.load()
        if self.plugin is None or self.config is None or self.apps is None:
            raise RuntimeError("Devkit.load() did not set plugin, config and apps")
        sessions = SessionRegistry()
        invoker = BackwardsInvoker(
            self.apps,
            app_permission=self.plugin.app_permission,
            state=self.state,
            app_stream_timeout=self.config.daemon.app_stream_timeout,
        )
        daemon = Daemon(
            self.config.endpoints,
            self.config.daemon,
            sessions,
            invoker,
            request_log=(lambda line: say("http", line)) if self.options.request_log else None,
            log_everything=self.options.log_all_requests,
        )
        daemon.index = lambda: index_page(self)  # `/`: every endpoint on one page
        if self.state is not None:
            self.state.add_routes(daemon.app.router)  # /files/... (Dify's) and /devkit/storage|files
        # handlers end once the plugin is gone; do not wait a minute for slow clients on Ctrl-C
        self._runner = web.AppRunner(daemon.app, handler_cancellation=True, access_log=None, shutdown_timeout=3.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

        env = {**self.config.plugin_env, **self.options.extra_env}
        if self.options.serverless:
            self.runtime = ServerlessRuntime(
                self.plugin, invoker, env, self.options.python, options=self.config.daemon, daemon_url=self.base_url
            )
        else:
            self.runtime = StdioRuntime(
                self.plugin, invoker, env, self.options.python, options=self.config.daemon, sessions=sessions
            )
        try:
            await self.runtime.start()
        except BaseException:
            await self.stop()
            raise
        daemon.runtime = self.runtime

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._unpacked is not None:
            shutil.rmtree(self._unpacked, ignore_errors=True)

    async def __aenter__(self) -> Devkit:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
