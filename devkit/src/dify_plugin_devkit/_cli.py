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
import errno
import json
import shlex
import signal
import sys
from pathlib import Path

from dify_plugin_devkit._app import Devkit, DevkitOptions
from dify_plugin_devkit._apps.real_apps import describe_real_apps
from dify_plugin_devkit._console import say
from dify_plugin_devkit._declarations import PluginInfo, read_plugin
from dify_plugin_devkit._declarations.sources import module_name
from dify_plugin_devkit._environment import (
    IGNORE_LOCK_ENV,
    PYTHON_ENV,
    PluginEnvironment,
    import_problems,
    prepare_environment,
)
from dify_plugin_devkit._errors import DevkitError
from dify_plugin_devkit._index import NOT_SET_UP, route_examples
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
    run.add_argument("--quiet", action="store_true", help="no log line per request")
    run.add_argument(
        "--log-all",
        action="store_true",
        help="log the polled requests too (/health/check, /devkit/*, a serverless plugin's app calls)",
    )
    run.add_argument("--port", type=int, default=5002, help="0 picks a free port")
    run.add_argument("--serverless", action="store_true", help="run the plugin with INSTALL_METHOD=serverless")
    run.add_argument("--package", type=Path, default=None, help="run from a .difypkg instead of PLUGIN_DIR")
    run.add_argument("--timeout", type=float, default=None, help="daemon execution time limit, seconds (default 600)")
    _add_environment(run)
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


def _add_environment(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--python",
        default=None,
        help="run the plugin with this interpreter instead of the environment Dify would build "
        f"(default: ${PYTHON_ENV} when set)",
    )
    command.add_argument(
        "--ignore-uv-lock",
        action="store_true",
        default=None,
        help=f"build with `uv sync --no-dev` without --frozen, as Dify with {IGNORE_LOCK_ENV}=true",
    )


def _add_check(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check",
        help="validate the plugin the way Dify's SDK and daemon will",
        description="Check a Dify plugin directory the way the SDK and daemon will.",
    )
    check.add_argument("plugin_dir", nargs="?", default=".", help="the plugin's root directory (default: .)")
    _add_environment(check)
    check.add_argument(
        "--no-env",
        action="store_true",
        help="check the declarations only: do not build the plugin's environment nor import the plugin in it",
    )


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
        request_log=not args.quiet,
        log_all_requests=args.log_all,
    )


def banner(devkit: Devkit) -> str:
    """A ready-to-click URL and a curl line for every route of every endpoint instance."""
    if devkit.plugin is None or devkit.config is None or devkit.apps is None:
        raise RuntimeError("banner() needs a loaded Devkit")
    mode = "serverless" if devkit.options.serverless else "local (stdio)"
    lines = [f"{devkit.plugin.name} is running ({mode}) behind the devkit daemon at {devkit.base_url}", ""]
    if devkit.config.placeholders:
        lines.append(
            f"no devkit.yaml: placeholder values for the required settings {', '.join(devkit.config.placeholders)} "
            "(write a devkit.yaml to give real ones)"
        )
        lines.append("")
    secret = {d.name for d in devkit.plugin.settings if d.type.value == "secret-input"}
    for instance in devkit.config.endpoints:
        disabled = "" if instance.enabled else ", disabled: answers 404 endpoint not found"
        lines.append(f"endpoint '{instance.name}'  (hook id {instance.hook_id}{disabled})")
        for name, value in instance.settings.items():
            shown = value.get("app_id") if isinstance(value, dict) else json.dumps(value)
            lines.append(f"  setting {name} = {'***' if name in secret and value else shown}")
        unset: list[str] = []
        no_example: list[str] = []
        headers = "".join(f" -H {shlex.quote(f'{k}: {v}')}" for k, v in instance.example_headers.items())
        for route in route_examples(devkit, instance):
            name, url, example = f"{route.method} {route.path}", route.url, route.example
            if example is None:  # no request works as printed: never print one that would not
                (unset if route.missing == NOT_SET_UP else no_example).append(name)
            elif route.method == "GET":
                lines.append(f"  GET  {url}{example}")
                lines.append(f"       curl -N{headers} '{url}{example}'")
            elif example.startswith("-F "):  # a multipart body: curl's -F arguments as written
                lines.append(f"  {route.method:<4} {url}")
                lines.append(f"       curl -N -X {route.method}{headers} '{url}' {example}")
            else:
                body = example or "{}"  # an example set to "": an empty JSON object works
                lines.append(f"  {route.method:<4} {url}")
                lines.append(
                    f"       curl -N -X {route.method} '{url}'{headers} -H 'Content-Type: application/json' -d '{body}'"
                )
        if unset:
            lines.append(f"  not set up on this endpoint (no example): {', '.join(unset)}")
        if no_example:
            lines.append(f"  no example (add one under `examples:` in devkit.yaml): {', '.join(no_example)}")
        lines.append("")
    if devkit.state is not None:
        lines.append(f"storage and uploaded files: {devkit.state.state_dir / devkit.state.plugin_id}")
    real = {app.id for app in devkit.apps.real.apps}
    dsl = {app.id: app for app in devkit.apps.dsl_apps}
    demos = (a for a in devkit.apps.apps if a.id not in real and a.id not in dsl)
    lines.append("demo apps: " + ", ".join(f"{a.id} ({a.mode})" for a in demos))
    if dsl:
        lines.append("apps from Dify DSL files: " + ", ".join(f"{a.id} ({a.mode}, {a.source})" for a in dsl.values()))
    lines.extend(describe_real_apps(devkit.apps.real.apps))
    lines.append(f"every endpoint on one page: {devkit.base_url}/")
    behaviour = devkit.apps.dify
    quirks = [name for name, on in behaviour.quirks.items() if on]
    shown = f" (quirks on: {', '.join(quirks)}; see devkit/README.md)" if quirks else " (every quirk off)"
    lines.append(f"apps answer as Dify {behaviour.version}{shown}")
    lines.append("Ctrl-C stops the plugin and the devkit.")
    return "\n".join(lines)


def plugin_environment(plugin: PluginInfo, python: str | None, ignore_uv_lock: bool | None = None) -> PluginEnvironment:
    """The plugin's interpreter as `run` and `check` use it (see _environment)."""
    return prepare_environment(
        plugin.root,
        plugin.manifest.meta.runner.version,
        python=python,
        ignore_uv_lock=ignore_uv_lock,
        log=lambda line: say("devkit", line),
    )


async def serve(options: DevkitOptions, ignore_uv_lock: bool | None = None) -> int:
    devkit = Devkit(options)
    try:
        devkit.load()
        if devkit.plugin is None:
            raise RuntimeError("Devkit.load() did not set plugin")
        environment = await asyncio.to_thread(plugin_environment, devkit.plugin, options.python, ignore_uv_lock)
    except DevkitError as error:
        say("devkit", f"error: {error}")
        return 2
    say("devkit", f"plugin environment: {environment.how}")
    options.python = environment.python
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await devkit.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            port = options.port
            say(
                "devkit",
                f"error: port {port} on {options.host} is already in use (another `make dev` or "
                f"`dify-devkit run`?) — stop it, or pick another port: `make dev PORT={port + 1}` "
                f"(`dify-devkit run --port {port + 1}`; 0 picks a free one)",
            )
        else:
            say("devkit", f"error: could not start: {error}")
        return 1
    except DevkitError as error:
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


def check(
    plugin_dir: str, *, environment: bool = True, python: str | None = None, ignore_uv_lock: bool | None = None
) -> int:
    """The declarations, then (unless `environment` is False) the plugin imported in the
    environment Dify would build: an import it cannot satisfy is a problem too."""
    report = read_plugin(plugin_dir)
    problems = list(report.problems)
    summary: list[str] = []
    if not problems and environment:
        plugin = report.plugin_info()
        try:
            env = plugin_environment(plugin, python, ignore_uv_lock)
        except DevkitError as error:
            print(f"environment: {error}")
            print("1 problem(s) found", file=sys.stderr)
            return 1
        built = f"built in {env.build_seconds:.1f} s" if env.build_seconds is not None else "no build needed"
        modules = sorted(module_name(rel) for rel in report.files if rel.endswith(".py"))
        modules = [m.removesuffix(".__init__") for m in modules]
        source = env.how.split(" (")[0]
        problems = import_problems(plugin.root, env.python, modules, plugin.entrypoint, source)
        summary.append(f"environment: {env.how}; {built}")
        if not problems:
            summary.append(f"imports: {len(set(modules) | {plugin.entrypoint})} modules import in it")
    for problem in problems:
        print(problem.format(plugin_dir))
    for line in summary:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
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
        return check(
            args.plugin_dir, environment=not args.no_env, python=args.python, ignore_uv_lock=args.ignore_uv_lock
        )
    if args.command == "package":
        return package(args.plugin_dir, args.output)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(run_options(args), args.ignore_uv_lock))
    return 130
