"""devkit.yaml: the endpoint instances a workspace owner would add in Dify's UI.

Each instance has a hook id (its URL is /e/<hook_id>/...) and settings, checked at
start-up against the endpoint group's `settings` declarations, as Dify's form
would: a missing required setting, an unknown key or a wrong type is an error
naming the file, the hook and the setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dify_plugin_devkit._apps import AppSpec, parse_apps
from dify_plugin_devkit._apps.dify import DifyBehaviour, parse_dify
from dify_plugin_devkit._apps.dsl import DslApp, is_dsl_entry, load_dsl_app
from dify_plugin_devkit._apps.inner_api import is_inner_api_entry, parse_inner_app
from dify_plugin_devkit._apps.real_apps import RealApp
from dify_plugin_devkit._apps.service_api import is_service_api_entry, parse_service_app, read_env
from dify_plugin_devkit._declarations.yamlfile import YamlFileError, read_yaml
from dify_plugin_devkit._errors import ConfigError
from dify_plugin_devkit._request_codec import MAX_BODY_BYTES
from dify_plugin_devkit._sdk import ProviderConfig

Kind = ProviderConfig.Config
_HOOK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOP_LEVEL = {"endpoints", "apps", "daemon", "plugin_env", "examples", "state_dir", "dify"}
_DAEMON_KEYS = {
    "max_execution_timeout",
    "oversize_body",
    "max_body_bytes",
    "max_stdout_line_bytes",
    "max_serverless_request_bytes",
    "app_stream_timeout",
    "serverless_transaction_timeout",
    "heartbeat_timeout",
}
# daemon keys holding a positive number of seconds / bytes
_DAEMON_SECONDS = ("max_execution_timeout", "app_stream_timeout", "serverless_transaction_timeout", "heartbeat_timeout")
_DAEMON_BYTES = ("max_body_bytes", "max_stdout_line_bytes", "max_serverless_request_bytes")


@dataclass(frozen=True)
class EndpointInstance:
    hook_id: str
    name: str
    settings: dict[str, Any]
    # "METHOD /path" -> example printed at start-up (overrides the file's `examples`);
    # None: the route does not work on this instance (e.g. its app is not set): not printed
    examples: dict[str, str | None] = field(default_factory=dict)
    # headers every printed example sends (e.g. the instance's API key)
    example_headers: dict[str, str] = field(default_factory=dict)
    # a disabled endpoint answers the daemon's 404 (`endpoint not found`, PluginDaemonNotFoundError)
    enabled: bool = True


@dataclass(frozen=True)
class DaemonOptions:
    # PLUGIN_MAX_EXECUTION_TIMEOUT of the daemon, seconds
    max_execution_timeout: float = 600.0
    # The real daemon silently truncates bodies at 10 MiB (io.LimitReader); "reject"
    # answers 413 instead (devkit only), for a user who wants to see the cut.
    oversize_body: str = "truncate"
    max_body_bytes: int = MAX_BODY_BYTES
    # PLUGIN_RUNTIME_MAX_BUFFER_SIZE: a local plugin's stdout line (and a serverless
    # plugin's response line) of this many bytes or more (bufio.Scanner: token too long)
    max_stdout_line_bytes: int = 5 * 1024 * 1024
    # MAX_SERVERLESS_REQUEST_BYTES: the serialized request line sent to a serverless plugin
    max_serverless_request_bytes: int = 5 * 1024 * 1024
    # DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT (240000 ms): an app stream is cut this long
    # after it opened (absolute, not idle), seconds
    app_stream_timeout: float = 240.0
    # MAX_SERVERLESS_TRANSACTION_TIMEOUT: a serverless plugin's app call (transaction), seconds
    serverless_transaction_timeout: float = 300.0
    # local_runtime MAX_HEARTBEAT_INTERVAL: a plugin silent (no stdout/stderr line, no
    # heartbeat) this long is killed, seconds; checked every quarter of it (30 s by default)
    heartbeat_timeout: float = 120.0


@dataclass(frozen=True)
class DevkitConfig:
    path: Path | None
    endpoints: tuple[EndpointInstance, ...]
    app_files: tuple[Path, ...] = ()
    # apps declared in the configuration itself (`apps:` entries that are mappings)
    inline_apps: tuple[AppSpec, ...] = ()
    # real apps, answered by a Dify through its Service API (`service_api:` entries)
    real_apps: tuple[RealApp, ...] = ()
    daemon: DaemonOptions = field(default_factory=DaemonOptions)
    plugin_env: dict[str, str] = field(default_factory=dict)
    # "METHOD /path" -> a query string ("?q=1") for GET, a JSON body otherwise (or curl's
    # -F arguments for a multipart body); only used to print ready-to-run examples at
    # start-up (None: print none for that route)
    examples: dict[str, str | None] = field(default_factory=dict)
    # where storage and uploaded files are kept (relative paths: from this file's folder)
    state_dir: Path | None = None
    # which Dify the apps behave like (`dify: {version, quirks}`; _apps/dify.py)
    dify: DifyBehaviour = field(default_factory=DifyBehaviour)
    # apps from Dify DSL files (`{id, dsl: path}` entries; _apps/dsl.py)
    dsl_apps: tuple[DslApp, ...] = ()
    # without devkit.yaml: the required settings given a placeholder value (see placeholder_value)
    placeholders: tuple[str, ...] = ()


def _app_selector(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str) and value:
        return {"app_id": value}
    if isinstance(value, dict) and isinstance(value.get("app_id"), str) and value["app_id"]:
        return dict(value)
    raise ConfigError(f"{where}: expected an app id (a string) or {{app_id: ...}}, got {value!r}")


def coerce_setting(declaration: ProviderConfig, value: Any, where: str) -> Any:
    """The value as the plugin receives it at call time, or ConfigError."""
    kind = declaration.type
    if kind is Kind.APP_SELECTOR:
        return _app_selector(value, where)
    if kind in (Kind.SECRET_INPUT, Kind.TEXT_INPUT):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string ({kind.value}), got {type(value).__name__} {value!r}")
        return value
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is Kind.SELECT:
        allowed = [option.value for option in declaration.options or []]
        if value not in allowed:
            raise ConfigError(f"{where}: expected one of {allowed}, got {value!r}")
        return value
    if kind is Kind.MODEL_SELECTOR:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping (model-selector), got {value!r}")
        return value
    if not isinstance(value, list):  # array[tools]
        raise ConfigError(f"{where}: expected a list ({kind.value}), got {value!r}")
    return value


def validate_settings(raw: Any, declarations: tuple[ProviderConfig, ...], where: str) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: settings must be a mapping of setting name to value")
    declared = {d.name: d for d in declarations}
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        raise ConfigError(
            f"{where}: settings.{unknown[0]}: unknown setting; the endpoint group declares {sorted(declared)}"
        )
    settings: dict[str, Any] = {}
    for name, declaration in declared.items():
        value = raw.get(name, declaration.default)
        if value is None or (value == "" and declaration.type is Kind.APP_SELECTOR):
            if declaration.required:
                raise ConfigError(f"{where}: settings.{name}: required setting is missing")
            continue
        settings[name] = coerce_setting(declaration, value, f"{where}: settings.{name}")
    return settings


def _daemon_options(raw: Any, where: str) -> DaemonOptions:
    if raw is None:
        return DaemonOptions()
    if not isinstance(raw, dict) or set(raw) - _DAEMON_KEYS:
        raise ConfigError(f"{where}: daemon: expected a mapping with keys {sorted(_DAEMON_KEYS)}")
    options = DaemonOptions(**raw)
    if options.oversize_body not in ("reject", "truncate"):
        raise ConfigError(f"{where}: daemon.oversize_body: expected reject or truncate")
    for key in _DAEMON_SECONDS:
        value = getattr(options, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{where}: daemon.{key}: expected a positive number of seconds, got {value!r}")
    for key in _DAEMON_BYTES:
        value = getattr(options, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where}: daemon.{key}: expected a positive number of bytes, got {value!r}")
    return options


def _examples(raw: Any, where: str) -> dict[str, str | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(v is None or isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{where}: examples: expected a mapping of 'METHOD /path' to a string (or null: no example)")
    return {str(k): v for k, v in raw.items()}


def _example_headers(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigError(f"{where}: example_headers: expected a mapping of header name to a string")
    return dict(raw)


def _unreadable(error: YamlFileError) -> str:
    """Why devkit.yaml cannot be used; a missing one is usually a --config typo or no file yet."""
    if error.failure == "missing":
        return "file not found (pass --config or create it)"
    if error.failure == "syntax":
        return f"not valid YAML: {error.detail}"
    return f"cannot read: {error.detail}"


def _real_apps(apps: list[Any], path: Path) -> tuple[RealApp, ...]:
    """The `service_api:` and `inner_api:` entries, `${VAR}`s taken from the environment or `.env` beside `path`."""
    entries = [(index, a) for index, a in enumerate(apps) if is_service_api_entry(a) or is_inner_api_entry(a)]
    if not entries:
        return ()
    env = read_env(path.parent)
    real: list[RealApp] = []
    for index, entry in entries:
        parse = parse_inner_app if is_inner_api_entry(entry) else parse_service_app
        app = parse(entry, f"{path}: apps[{index}]", env, path.parent / ".env")
        if any(other.id == app.id for other in real):
            raise ConfigError(f"{path}: apps[{index}] (id {app.id!r}): id: declared twice")
        real.append(app)
    return tuple(real)


#: An app-selector's placeholder by its scope: a built-in demo app of that kind.
_DEMO_APP_BY_SCOPE = {"chat": "demo-chat-echo", "workflow": "demo-workflow", "completion": "demo-completion"}


def placeholder_value(declaration: ProviderConfig) -> Any | None:
    """What the default instance (no devkit.yaml) gives a required setting without a
    default, so that any plugin starts with no file to write first: a text that says
    what it is, a demo app, the first option, false. None: no sensible stand-in
    (model and tool selectors): the setting stays missing and says so."""
    kind = declaration.type
    if kind in (Kind.SECRET_INPUT, Kind.TEXT_INPUT):
        return f"devkit-placeholder-{declaration.name}"
    if kind is Kind.APP_SELECTOR:
        return _DEMO_APP_BY_SCOPE.get(str(declaration.scope or ""), "demo-chat-echo")
    if kind is Kind.SELECT and declaration.options:
        return declaration.options[0].value
    if kind is Kind.BOOLEAN:
        return False
    return None


def load_config(path: Path | None, declarations: tuple[ProviderConfig, ...]) -> DevkitConfig:
    """Parse and validate devkit.yaml (None → one instance `devkit` with default settings,
    and placeholders for the required settings that have none)."""
    if path is None:
        filled = {
            d.name: value
            for d in declarations
            if d.required and d.default in (None, "") and (value := placeholder_value(d)) is not None
        }
        settings = validate_settings(filled, declarations, "default")
        return DevkitConfig(None, (EndpointInstance("devkit", "devkit", settings),), placeholders=tuple(filled))
    try:
        raw = read_yaml(path) or {}
    except YamlFileError as error:
        raise ConfigError(f"{path}: {_unreadable(error)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `endpoints:`")
    unknown = sorted(set(raw) - _TOP_LEVEL)
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown key; allowed: {sorted(_TOP_LEVEL)}")

    instances: list[EndpointInstance] = []
    for index, entry in enumerate(raw.get("endpoints") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("hook_id"), str):
            raise ConfigError(f"{path}: endpoints[{index}]: each endpoint needs a `hook_id` string")
        hook_id = entry["hook_id"]
        where = f"{path}: endpoint '{hook_id}'"
        if not _HOOK_ID.match(hook_id):
            raise ConfigError(f"{where}: hook_id must match {_HOOK_ID.pattern}")
        if any(i.hook_id == hook_id for i in instances):
            raise ConfigError(f"{where}: hook_id is used twice")
        extra = sorted(set(entry) - {"hook_id", "name", "settings", "examples", "example_headers", "enabled"})
        if extra:
            raise ConfigError(
                f"{where}: {extra[0]}: unknown key; allowed: "
                "hook_id, name, settings, examples, example_headers, enabled"
            )
        settings = validate_settings(entry.get("settings"), declarations, where)
        examples = _examples(entry.get("examples"), where)
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where}: enabled: expected true or false, got {enabled!r}")
        headers = _example_headers(entry.get("example_headers"), where)
        instances.append(
            EndpointInstance(hook_id, str(entry.get("name") or hook_id), settings, examples, headers, enabled=enabled)
        )
    if not instances:
        raise ConfigError(f"{path}: endpoints: declare at least one endpoint instance")

    base = path.parent
    apps = raw.get("apps") or []
    if not isinstance(apps, list) or not all(isinstance(a, str | dict) for a in apps):
        raise ConfigError(f"{path}: apps: expected a list of app fixture files or app declarations")
    demos = [
        a
        for a in apps
        if isinstance(a, dict) and not is_service_api_entry(a) and not is_inner_api_entry(a) and not is_dsl_entry(a)
    ]
    dsl_apps = tuple(load_dsl_app(a, base, f"{path}: apps[{index}]") for index, a in enumerate(apps) if is_dsl_entry(a))
    inline = parse_apps({"apps": demos}, f"{path} (inline apps)")
    real_apps = _real_apps(apps, path)
    env = raw.get("plugin_env") or {}
    if not isinstance(env, dict):
        raise ConfigError(f"{path}: plugin_env: expected a mapping of variable to value")
    shared = _examples(raw.get("examples"), str(path))
    state_dir = raw.get("state_dir")
    if state_dir is not None and not (isinstance(state_dir, str) and state_dir):
        raise ConfigError(f"{path}: state_dir: expected a folder path (a string), got {state_dir!r}")
    return DevkitConfig(
        path=path,
        examples=shared,
        endpoints=tuple(instances),
        app_files=tuple(base / a for a in apps if isinstance(a, str)),
        inline_apps=tuple(inline),
        real_apps=real_apps,
        daemon=_daemon_options(raw.get("daemon"), str(path)),
        plugin_env={str(k): str(v) for k, v in env.items()},
        state_dir=base / Path(state_dir).expanduser() if state_dir is not None else None,
        dify=parse_dify(raw.get("dify"), str(path)),
        dsl_apps=dsl_apps,
    )
