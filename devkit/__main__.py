"""`python -m devkit [PLUGIN_DIR]`: run an endpoint plugin as Dify would, locally."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from devkit.app import Devkit, DevkitOptions
from devkit.config import ConfigError
from devkit.console import say
from devkit.plugin_dir import PluginDirError
from devkit.runtime import PluginExited


def parse_args(argv: list[str] | None = None) -> DevkitOptions:
    parser = argparse.ArgumentParser(prog="python -m devkit", description=__doc__)
    parser.add_argument("plugin_dir", nargs="?", default=".", type=Path, help="plugin directory (default .)")
    parser.add_argument("--config", type=Path, default=None, help="endpoint instances YAML (default: devkit.yaml in the plugin dir, if present)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5002, help="0 picks a free port")
    parser.add_argument("--serverless", action="store_true", help="run the plugin with INSTALL_METHOD=serverless")
    parser.add_argument("--package", type=Path, default=None, help="run from a .difypkg instead of PLUGIN_DIR")
    parser.add_argument("--timeout", type=float, default=None, help="daemon execution time limit, seconds (default 600)")
    parser.add_argument("--ready-file", type=Path, default=None, help="write {base_url} as JSON here once ready")
    args = parser.parse_args(argv)
    config = args.config
    if config is None and (args.plugin_dir / "devkit.yaml").exists():
        config = args.plugin_dir / "devkit.yaml"
    options = DevkitOptions(
        plugin_dir=args.plugin_dir,
        config_path=config,
        host=args.host,
        port=args.port,
        serverless=args.serverless,
        package=args.package,
        max_execution_timeout=args.timeout,
        ready_file=args.ready_file,
    )
    return options


def banner(devkit: Devkit) -> str:
    """A ready-to-click URL and a curl line for every route of every endpoint instance."""
    assert devkit.plugin and devkit.config and devkit.apps
    mode = "serverless" if devkit.options.serverless else "local (stdio)"
    lines = [f"{devkit.plugin.name} is running ({mode}) behind the devkit daemon at {devkit.base_url}", ""]
    secret = {d.name for d in devkit.plugin.settings if d.type.value == "secret-input"}
    for instance in devkit.config.endpoints:
        lines.append(f"endpoint '{instance.name}'  (hook id {instance.hook_id})")
        for name, value in instance.settings.items():
            shown = value.get("app_id") if isinstance(value, dict) else json.dumps(value)
            lines.append(f"  setting {name} = {'***' if name in secret and value else shown}")
        for route in devkit.plugin.routes:
            name = f"{route.method} {route.path}"
            example = instance.examples.get(name, devkit.config.examples.get(name, ""))
            url = f"{devkit.base_url}/e/{instance.hook_id}{route.path}"
            if route.method == "GET":
                lines.append(f"  GET  {url}{example}")
                lines.append(f"       curl -N '{url}{example}'")
            else:
                body = example or "{}"
                lines.append(f"  {route.method:<4} {url}")
                lines.append(f"       curl -N -X {route.method} '{url}' -H 'Content-Type: application/json' -d '{body}'")
        lines.append("")
    lines.append("demo apps: " + ", ".join(f"{a.id} ({a.mode})" for a in devkit.apps.apps))
    lines.append("Ctrl-C stops the plugin and the devkit.")
    return "\n".join(lines)


async def serve(options: DevkitOptions) -> int:
    devkit = Devkit(options)
    try:
        devkit.load()
    except (ConfigError, PluginDirError, ValueError) as error:
        say("devkit", f"error: {error}")
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await devkit.start()
    except (PluginExited, TimeoutError, OSError) as error:
        say("devkit", f"error: could not start: {error}")
        return 1
    try:
        print(banner(devkit), flush=True)
        ready_file = options.ready_file
        if ready_file is not None:
            process = devkit.runtime.process if devkit.runtime else None
            ready_file.write_text(json.dumps({"base_url": devkit.base_url, "plugin_pid": process.pid if process else None}))
        assert devkit.runtime is not None
        exited = asyncio.ensure_future(devkit.runtime.exited.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        stopping.cancel()
        if devkit.runtime.exited.is_set() and not stop.is_set():
            say("devkit", f"error: {devkit.runtime.exit_error()}")
            return 1
        say("devkit", "stopping")
        return 0
    finally:
        await devkit.stop()


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(options))
    return 130


if __name__ == "__main__":
    sys.exit(main())
