"""`dify-devkit`: run, check and package a Dify plugin locally.

    dify-devkit run [PLUGIN_DIR]      the plugin behind a local daemon, with demo apps
    dify-devkit check [PLUGIN_DIR]    every problem the SDK or the daemon would refuse
    dify-devkit package [PLUGIN_DIR]  check, then build <name>-<version>.difypkg

`python -m dify_plugin_devkit ...` is the same program.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import sys
from pathlib import Path

from dify_plugin_devkit._app import Devkit, DevkitOptions
from dify_plugin_devkit._apps.service_api import describe_apps
from dify_plugin_devkit._console import say
from dify_plugin_devkit._declarations import inspect_plugin
from dify_plugin_devkit._errors import DevkitError
from dify_plugin_devkit._package import build_package

#: Where `run` looks for the devkit configuration when --config is not given.
DEFAULT_CONFIGS = ("devkit.yaml", "dev/devkit.yaml")


def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run the plugin behind a local stand-in for Dify",
        description="Run an endpoint plugin as Dify would, locally.",
    )
    run.add_argument("plugin_dir", nargs="?", default=".", type=Path, help="plugin directory (default .)")
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="endpoint instances YAML (default: devkit.yaml or dev/devkit.yaml in the plugin dir)",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=5002, help="0 picks a free port")
    run.add_argument("--serverless", action="store_true", help="run the plugin with INSTALL_METHOD=serverless")
    run.add_argument("--package", type=Path, default=None, help="run from a .difypkg instead of PLUGIN_DIR")
    run.add_argument("--timeout", type=float, default=None, help="daemon execution time limit, seconds (default 600)")
    run.add_argument(
        "--python",
        default=None,
        help="run the plugin with this interpreter, e.g. the .venv Dify would build (default: this one)",
    )
    run.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help="write {base_url, plugin_pid} as JSON here once ready (the pid of the first plugin process)",
    )
    run.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the plugin's storage and uploaded files are kept (default: .devkit-state in PLUGIN_DIR)",
    )


def _add_check(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check",
        help="validate the plugin the way Dify's SDK and daemon will",
        description="Check a Dify plugin directory the way the SDK and daemon will.",
    )
    check.add_argument("plugin_dir", nargs="?", default=".", help="the plugin's root directory (default: .)")


def _add_package(commands: argparse._SubParsersAction) -> None:
    package = commands.add_parser(
        "package",
        help="check, then build <name>-<version>.difypkg",
        description="Check a Dify plugin directory and pack it into a .difypkg.",
    )
    package.add_argument("plugin_dir", nargs="?", default=".", help="the plugin's root directory (default: .)")
    package.add_argument(
        "-o", "--output", default="dist", help="directory for <name>-<version>.difypkg (default: dist)"
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="dify-devkit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="{run,check,package}")
    _add_run(commands)
    _add_check(commands)
    _add_package(commands)
    return root


def run_options(args: argparse.Namespace) -> DevkitOptions:
    config = args.config
    if config is None:
        config = next((args.plugin_dir / name for name in DEFAULT_CONFIGS if (args.plugin_dir / name).exists()), None)
    return DevkitOptions(
        plugin_dir=args.plugin_dir,
        config_path=config,
        host=args.host,
        port=args.port,
        serverless=args.serverless,
        package=args.package,
        max_execution_timeout=args.timeout,
        ready_file=args.ready_file,
        python=args.python,
        state_dir=args.state_dir,
    )


def banner(devkit: Devkit) -> str:
    """A ready-to-click URL and a curl line for every route of every endpoint instance."""
    if devkit.plugin is None or devkit.config is None or devkit.apps is None:
        raise RuntimeError("banner() needs a loaded Devkit")
    mode = "serverless" if devkit.options.serverless else "local (stdio)"
    lines = [f"{devkit.plugin.name} is running ({mode}) behind the devkit daemon at {devkit.base_url}", ""]
    secret = {d.name for d in devkit.plugin.settings if d.type.value == "secret-input"}
    for instance in devkit.config.endpoints:
        disabled = "" if instance.enabled else ", disabled: answers 404 endpoint not found"
        lines.append(f"endpoint '{instance.name}'  (hook id {instance.hook_id}{disabled})")
        for name, value in instance.settings.items():
            shown = value.get("app_id") if isinstance(value, dict) else json.dumps(value)
            lines.append(f"  setting {name} = {'***' if name in secret and value else shown}")
        unset = []
        headers = "".join(f" -H {shlex.quote(f'{k}: {v}')}" for k, v in instance.example_headers.items())
        for route in devkit.plugin.routes:
            if route.method == "OPTIONS":  # CORS preflights: browsers send them, not people
                continue
            name = f"{route.method} {route.path}"
            example = instance.examples.get(name, devkit.config.examples.get(name, ""))
            if example is None:  # the route does not work on this instance: never print it as if it did
                unset.append(name)
                continue
            path = route.path
            if route.method == "GET" and "<" in path and example.startswith("/"):
                # a path with parameters (`/v1/models/<model_id>`): the example is the concrete path
                path, mark, query = example.partition("?")
                example = mark + query
            url = f"{devkit.base_url}/e/{instance.hook_id}{path}"
            if route.method == "GET":
                lines.append(f"  GET  {url}{example}")
                lines.append(f"       curl -N{headers} '{url}{example}'")
            elif example.startswith("-F "):  # a multipart body: curl's -F arguments as written
                lines.append(f"  {route.method:<4} {url}")
                lines.append(f"       curl -N -X {route.method}{headers} '{url}' {example}")
            else:
                body = example or "{}"
                lines.append(f"  {route.method:<4} {url}")
                lines.append(
                    f"       curl -N -X {route.method} '{url}'{headers} -H 'Content-Type: application/json' -d '{body}'"
                )
        if unset:
            lines.append(f"  not set up on this endpoint (no example): {', '.join(unset)}")
        lines.append("")
    if devkit.state is not None:
        lines.append(f"storage and uploaded files: {devkit.state.state_dir / devkit.state.plugin_id}")
    real = {app.id for app in devkit.apps.real.apps}
    lines.append("demo apps: " + ", ".join(f"{a.id} ({a.mode})" for a in devkit.apps.apps if a.id not in real))
    lines.extend(describe_apps(devkit.apps.real.apps))
    lines.append("Ctrl-C stops the plugin and the devkit.")
    return "\n".join(lines)


async def serve(options: DevkitOptions) -> int:
    devkit = Devkit(options)
    try:
        devkit.load()
    except DevkitError as error:
        say("devkit", f"error: {error}")
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await devkit.start()
    except (DevkitError, OSError) as error:
        say("devkit", f"error: could not start: {error}")
        return 1
    try:
        print(banner(devkit), flush=True)
        ready_file = options.ready_file
        if ready_file is not None:
            process = devkit.runtime.process if devkit.runtime else None
            ready_file.write_text(
                json.dumps({"base_url": devkit.base_url, "plugin_pid": process.pid if process else None})
            )
        # A plugin process that dies is started again by the runtime, as the daemon does
        # (it says why on the console); only Ctrl-C / SIGTERM ends `run`.
        await stop.wait()
        say("devkit", "stopping")
        return 0
    finally:
        await devkit.stop()


def check(plugin_dir: str) -> int:
    report = inspect_plugin(plugin_dir)
    for problem in report.problems:
        print(problem.format(plugin_dir))
    if report.problems:
        print(f"{len(report.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def package(plugin_dir: str, output: str) -> int:
    try:
        build_package(plugin_dir, output)
    except DevkitError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "check":
        return check(args.plugin_dir)
    if args.command == "package":
        return package(args.plugin_dir, args.output)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(run_options(args)))
    return 130
