"""Check a Dify endpoint plugin directory before Dify sees it.

`dify-devkit check [PLUGIN_DIR]` validates the manifest, the endpoint group,
every endpoint declaration and every endpoint source the way the Python SDK
(`dify_plugin`, which refuses to start) and the Go plugin daemon (which refuses
to install, or silently drops things) will. A real Dify reports these one at a
time, minutes apart, often as a bare "plugin failed to start"; this reports
them all at once, one line each:

    path: field: what is wrong — how to fix it

Where the SDK has a pydantic model for a file we validate with that model and
translate its errors, so the rules cannot drift from what the SDK accepts. The
daemon's extra rules (version format, lowercase author, setting scopes, the
one-group limit, permissions) are restated here because they live in Go.
Python sources are analysed statically with `ast`: the check never imports
plugin code.

The SDK models come from `_sdk`, which imports them without the SDK's
gevent monkey-patching, so checking is side-effect free in any process.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import ValidationError
from werkzeug.routing import Map, Rule

from dify_plugin_devkit._pysource import SESSION_PERMISSIONS, Binding, Module, SourceIndex

# --- facts from the daemon (pkg/entities/...) and the SDK -----------------------

MANIFEST = "manifest.yaml"
ASSETS_DIR = "_assets"

#: endpoint_declaration.go: isAvailableMethod (case-sensitive).
ENDPOINT_METHODS = ("HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS")
#: manifest_entities/version.go: VERSION_PATTERN, used for `version` and `meta.version`.
DAEMON_VERSION_RE = re.compile(r"^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$")
#: plugin_declaration.go: AuthorRegex (the SDK also allows capitals; the daemon does not).
DAEMON_AUTHOR_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
#: config.go: isAppSelectorScope / isModelConfigScope.
APP_SELECTOR_SCOPES = ("all", "chat", "workflow", "completion")
MODEL_SELECTOR_SCOPES = (
    "llm", "text-embedding", "rerank", "tts", "speech2text",
    "moderation", "vision", "document", "tool-call",
)
#: manifest_entities/tags.go: isPluginTag.
PLUGIN_TAGS = (
    "search", "image", "videos", "weather", "finance", "design", "travel", "social",
    "news", "medical", "productivity", "education", "business", "entertainment",
    "utilities", "agent", "rag", "other", "trigger",
)
#: basic_type.go: I18nObject fields are `lt=1024`; plugin_declaration.go: icon `max=128`.
I18N_MAX_CHARS = 1023
ICON_MAX_CHARS = 128
#: plugin_declaration.go: PluginExtensions entries are `max=128`.
EXTENSION_PATH_MAX_CHARS = 128
#: Extension kinds the daemon refuses to combine (ManifestValidate): each of these
#: must be the plugin's only kind. Tools and endpoints may live together.
EXCLUSIVE_EXTENSIONS = ("models", "agent_strategies", "datasources", "triggers")
GROUP_KEYS = ("settings", "endpoints")
ENDPOINT_KEYS = ("path", "method", "hidden", "extra")

MANIFEST_HINTS: dict[str, str] = {
    "version": "use MAJOR.MINOR.PATCH, at most 4 digits each, e.g. 0.1.0 (optionally -suffix)",
    "type": "set `type: plugin`",
    "author": "use 1-64 lowercase letters, digits, _ or -, e.g. my_team",
    "name": "use 1-128 lowercase letters, digits, _ or -, e.g. my_plugin",
    "label": "give an I18n object with at least en_US, e.g. `label: {en_US: My plugin}`",
    "description": "give an I18n object with at least en_US",
    "icon": "name a file in _assets/, e.g. `icon: icon.svg`",
    "icon_dark": "name a file in _assets/, or remove icon_dark",
    "created_at": 'use an RFC 3339 timestamp, e.g. "2025-01-01T00:00:00Z"',
    "resource": "add `resource: {memory: 268435456}` (bytes)",
    "resource.memory": "give the plugin's memory need in bytes, e.g. 268435456 (256 MiB)",
    "resource.permission": "use `permission: {endpoint: {enabled: true}, ...}`",
    "plugins": "add `plugins: {endpoints: [group/<name>.yaml]}`",
    "meta": "add `meta: {version: 0.0.1, arch: [amd64, arm64], runner: {...}}`",
    "meta.version": "use the manifest spec version, e.g. 0.0.1",
    "meta.arch": "list amd64 and/or arm64",
    "meta.runner": 'add `runner: {language: python, version: "3.12", entrypoint: main}`',
    "meta.runner.language": "set `language: python` (the only runner Dify has)",
    "meta.runner.version": 'set `version: "3.12"` (quoted)',
    "meta.runner.entrypoint": "set `entrypoint: main` (Dify runs `python -m main`)",
    "meta.minimum_dify_version": "use a version like 1.0.0, or remove it",
}
ENDPOINT_HINTS: dict[str, str] = {
    "path": "use a werkzeug rule starting with /, e.g. /duck/<app_id>",
    "method": f"use one of {', '.join(ENDPOINT_METHODS)}, one method per declaration",
    "hidden": "use true or false",
    "extra": "add `extra: {python: {source: endpoints/<name>.py}}`",
}
SETTING_HINTS: dict[str, str] = {
    "name": "give the setting a `name:`; the endpoint reads settings[name]",
    "type": "use one of secret-input, text-input, select, boolean, model-selector, "
            "app-selector, array[tools]",
    "label": "give `label: {en_US: ...}`",
    "options": "list options as `- value: x` with `label: {en_US: ...}`",
}


# --- results --------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing Dify would refuse or silently get wrong, with the fix."""

    path: str  # posix path relative to the plugin root
    field: str
    message: str
    fix: str
    line: int | None = None

    def format(self, root: str | os.PathLike[str] | None = None) -> str:
        """`path[:line]: field: message — fix`, path prefixed by `root` when given."""
        if root in (None, "", "."):
            where = self.path
        else:
            where = os.fspath(root) if self.path == "." else os.path.join(root, self.path)
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.field}: {self.message} — {self.fix}"

    def __str__(self) -> str:
        return self.format()


@dataclass
class CheckReport:
    """Everything the check learned; `files` lists what the plugin needs at run time."""

    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    version: str | None = None
    endpoints: int = 0
    settings: int = 0
    files: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"ok: {self.name} {self.version}: {self.endpoints} endpoints, "
            f"{self.settings} settings"
        )


def check_plugin(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem found in the plugin directory at `path` (empty when it is fine)."""
    return inspect_plugin(path).problems


def inspect_plugin(path: str | os.PathLike[str]) -> CheckReport:
    """Check the plugin at `path` and also return what the packager needs to know."""
    return _Checker(Path(path)).run()


# --- small helpers --------------------------------------------------------------

_MISSING: Any = object()


def _dig(data: Any, dotted: str) -> Any:
    """`data["a"]["b"]` for "a.b", or _MISSING as soon as a level is absent."""
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _loc_to_field(loc: Iterable[int | str], prefix: str = "") -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(file)"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hint(field_name: str, hints: Mapping[str, str]) -> str:
    """The fix for a field: exact match, then without list indexes, then its parents."""
    key = re.sub(r"\[\d+\]", "", field_name)
    while key:
        if key in hints:
            return hints[key]
        key = key.rpartition(".")[0]
    return "correct the value (see the dify_plugin SDK's model for this file)"


def _describe(err: Mapping[str, Any]) -> str:
    """A short 'what is wrong' for one pydantic error."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "missing":
        return "missing"
    if kind == "string_pattern_mismatch":
        return f"{_short(got)} does not match {ctx.get('pattern')}"
    if kind == "enum":
        return f"{_short(got)} is not one of {ctx.get('expected')}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return f"{err['msg']} (got {_short(got)})"


def _validation_problems(
    exc: ValidationError, rel: str, hints: Mapping[str, str], prefix: str = ""
) -> list[Problem]:
    """One Problem per pydantic error; `prefix` places the fields (e.g. settings[x])."""
    out = []
    for err in exc.errors():
        inner = _loc_to_field(err["loc"])
        name = f"{prefix}.{inner}" if prefix and inner != "(file)" else (prefix or inner)
        out.append(Problem(rel, name, _describe(err), _hint(inner, hints)))
    return out


def _is_inside(root: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


class _Checker:
    """Runs every rule over one plugin directory, collecting problems instead of stopping."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.report = CheckReport()
        self.reported: set[tuple[str, str]] = set()
        self.sources = SourceIndex(root)

    # bookkeeping ------------------------------------------------------------

    def add(self, rel: str, field_name: str, message: str, fix: str,
            line: int | None = None) -> None:
        self.reported.add((rel, field_name))
        self.report.problems.append(Problem(rel, field_name, message, fix, line))

    def add_once(self, rel: str, field_name: str, message: str, fix: str) -> None:
        """Add unless the SDK's model already reported this field (no double reports)."""
        if (rel, field_name) not in self.reported:
            self.add(rel, field_name, message, fix)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.reported.add((problem.path, problem.field))
            self.report.problems.append(problem)

    def rel_file(self, rel: Any, owner: str, field_name: str, what: str) -> Path | None:
        """The plugin file named by `rel` (a posix path in YAML), or None after reporting."""
        if not isinstance(rel, str) or not rel.strip():
            self.add(owner, field_name, f"{_short(rel)} is not a file path",
                     f"give the {what} as a path relative to the plugin root")
            return None
        pure = PurePosixPath(rel)
        target = self.root.joinpath(*pure.parts)
        if pure.is_absolute() or ".." in pure.parts or not _is_inside(self.root, target):
            self.add(owner, field_name, f"{rel} points outside the plugin directory",
                     f"keep the {what} inside the plugin and name it relative to its root")
            return None
        if not target.is_file():
            self.add(owner, field_name, f"{rel} does not exist",
                     f"create {rel} or fix the path")
            return None
        self.report.files.add(pure.as_posix())
        return target

    def load_yaml(self, rel: str, owner: str, field_name: str, what: str) -> Any:
        path = self.rel_file(rel, owner, field_name, what)
        if path is None:
            return _MISSING
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.add(rel, "(yaml)", f"not valid YAML: {problem}",
                     "fix the YAML syntax (indentation, quotes, colons)",
                     line=mark.line + 1 if mark is not None else None)
            return _MISSING
        except UnicodeDecodeError:
            self.add(rel, "(file)", "not UTF-8 text", "save the file as UTF-8")
            return _MISSING
        if not isinstance(data, dict):
            self.add(rel, "(file)", f"top level is {type(data).__name__}, not a mapping",
                     f"write the {what} as `key: value` lines")
            return _MISSING
        return data

    # the run ----------------------------------------------------------------

    def run(self) -> CheckReport:
        if not self.root.is_dir():
            self.add(".", "(directory)", f"{self.root} is not a directory",
                     "pass the plugin's root directory (the one holding manifest.yaml)")
            return self.report
        manifest = self.load_yaml(MANIFEST, MANIFEST, "(file)", "manifest")
        if manifest is _MISSING:
            return self.report
        self.report.name = manifest.get("name") if isinstance(manifest.get("name"), str) else None
        self.report.version = (
            str(manifest["version"]) if isinstance(manifest.get("version"), str) else None
        )
        self.check_manifest_model(manifest)
        self.check_manifest_daemon_rules(manifest)
        self.check_entrypoint_and_dependencies(manifest)
        endpoint_count, sources = self.check_groups(manifest)
        self.report.endpoints = endpoint_count
        self.check_sources(sources)
        self.check_permissions(manifest, endpoint_count, sources)
        return self.report

    # manifest ---------------------------------------------------------------

    def check_manifest_model(self, manifest: dict[str, Any]) -> None:
        from dify_plugin_devkit._sdk import PluginConfiguration

        try:
            PluginConfiguration.model_validate(manifest)
        except ValidationError as exc:
            self.extend(_validation_problems(exc, MANIFEST, MANIFEST_HINTS))

    def check_manifest_daemon_rules(self, m: dict[str, Any]) -> None:
        for key in ("version", "meta.version"):
            value = _dig(m, key)
            if value is not _MISSING and not (
                isinstance(value, str) and DAEMON_VERSION_RE.match(value)
            ):
                self.add_once(MANIFEST, key,
                              f"{_short(value)} is not the X.Y.Z form Dify's daemon accepts",
                              MANIFEST_HINTS[key])
        author = m.get("author", _MISSING)
        if not (isinstance(author, str) and DAEMON_AUTHOR_RE.match(author)):
            what = "missing" if author in (_MISSING, None) else (
                f"{_short(author)} does not match {DAEMON_AUTHOR_RE.pattern} (Dify's daemon)")
            self.add_once(MANIFEST, "author", what, MANIFEST_HINTS["author"])
        for key in ("label", "description"):
            self.check_i18n(MANIFEST, key, m.get(key, _MISSING))
        self.check_icons(m)
        memory = _dig(m, "resource.memory")
        if isinstance(memory, int) and not isinstance(memory, bool) and memory <= 0:
            self.add_once(MANIFEST, "resource.memory", f"{memory} is not a positive size",
                          MANIFEST_HINTS["resource.memory"])
        arch = _dig(m, "meta.arch")
        if isinstance(arch, list) and not arch:
            self.add_once(MANIFEST, "meta.arch", "empty", MANIFEST_HINTS["meta.arch"])
        for key, limit in (("meta.runner.version", 128), ("meta.runner.entrypoint", 256)):
            value = _dig(m, key)
            if isinstance(value, str) and len(value) > limit:
                self.add_once(MANIFEST, key, f"longer than {limit} characters",
                              MANIFEST_HINTS[key])
        tags = m.get("tags", [])
        for i, tag in enumerate(tags if isinstance(tags, list) else [tags]):
            if tag not in PLUGIN_TAGS:
                self.add(MANIFEST, f"tags[{i}]", f"{_short(tag)} is not a Dify tag",
                         f"use one of {', '.join(PLUGIN_TAGS)}, or remove it")
        repo = m.get("repo")
        if repo is not None and not (isinstance(repo, str) and re.match(r"^https?://\S+$", repo)):
            self.add(MANIFEST, "repo", f"{_short(repo)} is not a URL",
                     "give the repository's https:// URL, or remove repo")
        privacy = m.get("privacy")
        if isinstance(privacy, str) and not re.match(r"^https?://", privacy):
            self.rel_file(privacy, MANIFEST, "privacy", "privacy policy file")
        self.check_extension_kinds(m)

    def check_i18n(self, rel: str, key: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            return  # the SDK model reported it
        en = value.get("en_US")
        if isinstance(en, str) and not en.strip():
            self.add_once(rel, f"{key}.en_US", "empty", f"write the {key} in English")
        for locale, text in value.items():
            if isinstance(text, str) and len(text) > I18N_MAX_CHARS:
                self.add(rel, f"{key}.{locale}", f"{len(text)} characters (Dify allows 1023)",
                         "shorten it")

    def check_icons(self, m: dict[str, Any]) -> None:
        for key in ("icon", "icon_dark"):
            icon = m.get(key)
            if not isinstance(icon, str):
                continue  # absent or not text: the SDK model reported it (icon_dark is optional)
            target = self.root / ASSETS_DIR / icon
            if not icon.strip():
                self.add(MANIFEST, key, "empty", MANIFEST_HINTS[key])
            elif len(icon) > ICON_MAX_CHARS:
                self.add(MANIFEST, key, f"longer than {ICON_MAX_CHARS} characters", "shorten it")
            elif ".." in PurePosixPath(icon).parts or not _is_inside(self.root / ASSETS_DIR, target):
                self.add(MANIFEST, key, f"{icon} is not inside {ASSETS_DIR}/",
                         f"name a file inside {ASSETS_DIR}/, relative to it")
            elif not target.is_file():
                self.add(MANIFEST, key, f"{ASSETS_DIR}/{icon} does not exist",
                         f"add the image as {ASSETS_DIR}/{icon} (icon names are relative to "
                         f"{ASSETS_DIR}/)")
            else:
                self.report.files.add(f"{ASSETS_DIR}/{icon}")

    def check_extension_kinds(self, m: dict[str, Any]) -> None:
        plugins = m.get("plugins")
        if not isinstance(plugins, Mapping):
            return
        declared = [k for k, v in plugins.items() if isinstance(v, list) and v]
        if not declared:
            self.add_once(MANIFEST, "plugins", "declares no extension",
                          "list the endpoint group: `plugins: {endpoints: [group/<name>.yaml]}`")
        for kind in EXCLUSIVE_EXTENSIONS:
            if kind in declared and len(declared) > 1:
                self.add(MANIFEST, f"plugins.{kind}",
                         f"cannot be combined with {', '.join(k for k in declared if k != kind)}",
                         "split them into separate plugins")
        for kind, entries in plugins.items():
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, str) and len(entry) > EXTENSION_PATH_MAX_CHARS:
                    self.add(MANIFEST, f"plugins.{kind}[{i}]", "longer than 128 characters",
                             "use a shorter path")

    def check_entrypoint_and_dependencies(self, m: dict[str, Any]) -> None:
        if _dig(m, "meta.runner.language") != "python":
            return
        entry = _dig(m, "meta.runner.entrypoint")
        if isinstance(entry, str) and entry:
            base = entry.replace(".", "/")
            candidates = (f"{base}.py", f"{base}/__main__.py")
            present = [c for c in candidates if (self.root / c).is_file()]
            if present:
                self.report.files.add(present[0])
            else:
                self.add(MANIFEST, "meta.runner.entrypoint",
                         f"{base}.py does not exist (Dify runs `python -m {entry}`)",
                         f"create {base}.py that builds and runs a dify_plugin Plugin")
        if not any((self.root / n).is_file() for n in ("pyproject.toml", "requirements.txt")):
            self.add("requirements.txt", "(file)",
                     "missing, and so is pyproject.toml: Dify cannot install the plugin's "
                     "Python packages",
                     "add requirements.txt (e.g. `dify_plugin>=0.10,<0.11`) or pyproject.toml")

    # endpoint groups ----------------------------------------------------------

    def check_groups(self, m: dict[str, Any]) -> tuple[int, dict[str, list[str]]]:
        """Check each group; returns (endpoint count, source → declaring files)."""
        groups = _dig(m, "plugins.endpoints")
        if not isinstance(groups, list):
            return 0, {}
        if len(groups) > 1:
            self.add(MANIFEST, "plugins.endpoints",
                     f"{len(groups)} endpoint groups; Dify keeps only the last one "
                     f"({groups[-1]}) and silently drops the others",
                     "merge them into one group file (one settings list, one endpoints list)")
        endpoint_count = 0
        sources: dict[str, list[str]] = {}
        routes: dict[tuple[str, str], tuple[str, str]] = {}
        for i, group_rel in enumerate(groups):
            if group_rel in groups[:i]:
                self.add(MANIFEST, f"plugins.endpoints[{i}]", f"lists {group_rel} again",
                         "remove the repeat")
                continue
            group = self.load_yaml(group_rel, MANIFEST, f"plugins.endpoints[{i}]",
                                   "endpoint group")
            if group is _MISSING:
                continue
            self.check_unknown_keys(group_rel, group, GROUP_KEYS, "endpoint group")
            self.report.settings += self.check_settings(group_rel, group.get("settings", []))
            endpoint_count += self.check_endpoint_list(group_rel, group, sources, routes)
        return endpoint_count, sources

    def check_unknown_keys(self, rel: str, data: Mapping[str, Any], known: tuple[str, ...],
                           what: str) -> None:
        for key in data:
            if key not in known:
                self.add(rel, str(key), f"unknown {what} key; the SDK and Dify ignore it",
                         f"remove it or fix the spelling (known keys: {', '.join(known)})")

    def check_settings(self, rel: str, settings: Any) -> int:
        from dify_plugin_devkit._sdk import ProviderConfig

        if settings is None:
            return 0
        if not isinstance(settings, list):
            self.add(rel, "settings", "not a list", "write settings as a list of `- name: ...`")
            return 0
        names: dict[str, int] = {}
        for i, setting in enumerate(settings):
            label = f"settings[{i}]"
            if isinstance(setting, Mapping) and isinstance(setting.get("name"), str):
                label = f"settings[{setting['name']}]"
            if not isinstance(setting, Mapping):
                self.add(rel, label, "not a mapping", "write each setting as `- name: ...`")
                continue
            try:
                ProviderConfig.model_validate(setting)
            except ValidationError as exc:
                self.extend(_validation_problems(exc, rel, SETTING_HINTS, label))
            self.check_setting_scope(rel, label, setting)
            name = setting.get("name")
            if isinstance(name, str):
                if name in names:
                    self.add(rel, f"{label}.name",
                             f"duplicate of settings[{names[name]}]; the second value wins",
                             "give each setting its own name")
                names.setdefault(name, i)
            for key in ("label", "help", "placeholder"):
                self.check_i18n(rel, f"{label}.{key}", setting.get(key))
        return len(settings)

    def check_setting_scope(self, rel: str, label: str, setting: Mapping[str, Any]) -> None:
        kind, scope = setting.get("type"), setting.get("scope")
        if scope is None or not isinstance(kind, str):
            return  # a type that is not text was reported by the SDK model
        allowed = {"app-selector": APP_SELECTOR_SCOPES,
                   "model-selector": MODEL_SELECTOR_SCOPES}.get(kind)
        if allowed is None:
            self.add(rel, f"{label}.scope",
                     f"a {kind} setting cannot have a scope (Dify's daemon rejects it)",
                     "remove scope; only app-selector and model-selector take one")
            return
        parts = [p.strip() for p in str(scope).split("&")]
        bad = [p for p in parts if p not in allowed]
        if bad or not isinstance(scope, str):
            self.add(rel, f"{label}.scope", f"{_short(scope)} is not a {kind} scope",
                     f"use one of {', '.join(allowed)}")

    # endpoint declarations ---------------------------------------------------

    def check_endpoint_list(self, group_rel: str, group: Mapping[str, Any],
                            sources: dict[str, list[str]],
                            routes: dict[tuple[str, str], tuple[str, str]]) -> int:
        entries = group.get("endpoints", _MISSING)
        if entries is _MISSING or entries is None or entries == []:
            self.add(group_rel, "endpoints", "no endpoints declared",
                     "list endpoint YAML files, e.g. `endpoints: [endpoints/duck.yaml]`")
            return 0
        if not isinstance(entries, list):
            self.add(group_rel, "endpoints", "not a list",
                     "write `endpoints:` as a list of endpoint YAML paths")
            return 0
        count = 0
        for i, entry in enumerate(entries):
            if isinstance(entry, str) and entry in entries[:i]:
                self.add(group_rel, f"endpoints[{i}]", f"lists {entry} again",
                         "remove the repeat")
                continue
            if isinstance(entry, Mapping):
                rel, data = group_rel, entry  # inline declaration
                prefix = f"endpoints[{i}]."
            else:
                rel, data = entry, self.load_yaml(entry, group_rel, f"endpoints[{i}]",
                                                  "endpoint declaration")
                prefix = ""
            if data is _MISSING:
                continue
            count += 1
            self.check_endpoint(rel, prefix, data, sources, routes)
        return count

    def check_endpoint(self, rel: str, prefix: str, data: Mapping[str, Any],
                       sources: dict[str, list[str]],
                       routes: dict[tuple[str, str], tuple[str, str]]) -> None:
        from dify_plugin_devkit._sdk import EndpointConfiguration

        self.check_unknown_keys(rel, data, ENDPOINT_KEYS, "endpoint")
        try:
            EndpointConfiguration.model_validate(data)
        except ValidationError as exc:
            self.extend(_validation_problems(exc, rel, ENDPOINT_HINTS, prefix.rstrip(".")))
        method, path = data.get("method"), data.get("path")
        method_ok = isinstance(method, str) and method in ENDPOINT_METHODS
        if isinstance(method, str) and not method_ok:
            fix = (f"write it in capitals: {method.upper()}" if method.upper() in ENDPOINT_METHODS
                   else ENDPOINT_HINTS["method"])
            self.add(rel, prefix + "method", f"{method!r} is not a method Dify accepts", fix)
        path_ok = isinstance(path, str) and self.check_rule(rel, prefix + "path", path)
        if method_ok and path_ok:
            self.check_route_unique(rel, prefix, method, path, routes)
        source = _dig(data, "extra.python.source")
        if source is not _MISSING:
            target = self.rel_file(source, rel, prefix + "extra.python.source",
                                   "endpoint source")
            if target is not None:
                if target.suffix != ".py":
                    self.add(rel, prefix + "extra.python.source", f"{source} is not a .py file",
                             "point at the Python file defining the Endpoint subclass")
                else:
                    sources.setdefault(PurePosixPath(source).as_posix(), []).append(rel)

    def check_rule(self, rel: str, field_name: str, path: str) -> bool:
        """Compile the path the way the SDK does (werkzeug Rule in a Map)."""
        try:
            Map([Rule(path, endpoint="check")])
        except (ValueError, LookupError, SyntaxError) as exc:
            self.add(rel, field_name, f"{path!r} is not a valid werkzeug rule: {exc}",
                     ENDPOINT_HINTS["path"])
            return False
        return True

    def check_route_unique(self, rel: str, prefix: str, method: str, path: str,
                           routes: dict[tuple[str, str], tuple[str, str]]) -> None:
        """The SDK adds rules in order and werkzeug serves the first match, so a repeated
        (method, path) never runs; `<a>` and `<b>` are the same shape, and GET rules
        also answer HEAD."""
        shape = re.sub(r"<(?:([^<>:]+):)?[^<>:]+>", lambda g: f"<{g.group(1) or 'default'}>", path)
        earlier = routes.get((method, shape))
        if earlier is not None:
            where, by = earlier
            self.add(rel, prefix + "method",
                     f"{method} {path} is already served by the {by} in {where}; werkzeug "
                     "routes to the first rule, so this one never runs",
                     "declare each (method, path) once (a GET also serves HEAD)")
            return
        routes[(method, shape)] = (rel, f"{method} {path}")
        if method == "GET":
            routes.setdefault(("HEAD", shape), (rel, f"GET {path}"))

    # endpoint sources ---------------------------------------------------------

    def check_sources(self, sources: dict[str, list[str]]) -> None:
        for source, declared_by in sorted(sources.items()):
            module_name = PurePosixPath(source).with_suffix("").as_posix().replace("/", ".")
            top = module_name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("dify_plugin", "werkzeug", "gevent"):
                self.add(source, "module name",
                         f"imports as `{module_name}`, which is an installed module: the SDK "
                         "would load that module instead of this file",
                         "rename the file or its top directory")
                continue
            module = self.sources.load(module_name)
            if module is None:
                self.report_syntax_error(source)
                continue
            self.check_endpoint_class(module, declared_by)
        for module in self.sources.reachable(self.source_modules(sources)):
            self.report.files.add(module.rel)
        for rel in sorted(self.sources.syntax_errors):
            if rel not in sources:
                self.report_syntax_error(rel)

    @staticmethod
    def source_modules(sources: Mapping[str, list[str]]) -> list[str]:
        return [PurePosixPath(s).with_suffix("").as_posix().replace("/", ".") for s in sources]

    def report_syntax_error(self, rel: str) -> None:
        exc = self.sources.syntax_errors.get(rel)
        if exc is not None and (rel, "(python)") not in self.reported:
            self.add(rel, "(python)", f"syntax error: {exc.msg}",
                     "fix the Python syntax; the plugin cannot start", line=exc.lineno)

    def check_endpoint_class(self, module: Module, declared_by: list[str]) -> None:
        found = self.sources.endpoint_classes(module)
        if not found:
            self.add(module.rel, "Endpoint subclass",
                     f"none in the module (needed by {', '.join(declared_by)})",
                     "define one `class X(Endpoint)` with `def _invoke(self, r, values, "
                     "settings)` (from dify_plugin import Endpoint)")
            return
        if len(found) > 1:
            described = ", ".join(self.describe(name, b, module) for name, b in found)
            imported = any(b.module != module.name for _, b in found)
            fix = (
                "import the base's module instead of the class (`from provider import base` "
                "… `class X(base.Base)`), or share code by composition"
                if imported else
                "keep one Endpoint subclass per module: move the others to their own files, "
                "or make the shared base a mixin that does not derive from Endpoint"
            )
            self.add(module.rel, "Endpoint subclass",
                     f"{len(found)} in the module namespace: {described}; the SDK refuses to "
                     "start (\"Multiple subclasses of Endpoint\")", fix, line=found[1][1].line)
            return
        name, binding = found[0]
        if self.sources.defines_invoke(binding) is False:
            self.add(module.rel, f"{name}._invoke",
                     "not defined; Endpoint._invoke is abstract, so every request fails",
                     "add `def _invoke(self, r: Request, values: Mapping, settings: Mapping) "
                     "-> Response`", line=binding.line)

    def describe(self, name: str, binding: Binding, module: Module) -> str:
        if binding.module == module.name:
            what = "" if binding.name == name else f" = {binding.name}"
            return f"{name}{what} (line {binding.line})"
        origin = self.sources.load(binding.module)
        where = origin.rel if origin is not None else binding.module
        what = "" if binding.name == name else f" = {binding.name}"
        return f"{name}{what} (imported line {binding.line} from {where})"

    # permissions ----------------------------------------------------------------

    def check_permissions(self, m: dict[str, Any], endpoints: int,
                          sources: Mapping[str, list[str]]) -> None:
        if endpoints and _dig(m, "resource.permission.endpoint.enabled") is not True:
            self.add(MANIFEST, "resource.permission.endpoint.enabled",
                     f"not true, but the plugin declares {endpoints} endpoints; Dify refuses "
                     "to set them up",
                     "set resource.permission.endpoint.enabled: true")
        needed: dict[str, tuple[str, int]] = {}
        for module in self.sources.reachable(self.source_modules(sources)):
            for attr, line in self.sources.session_uses(module):
                needed.setdefault(SESSION_PERMISSIONS[attr], (module.rel, line))
        for permission, (rel, line) in sorted(needed.items()):
            key = f"resource.permission.{permission}.enabled"
            if _dig(m, key) is not True:
                self.add(MANIFEST, key,
                         f"not true, but {rel}:{line} calls session.{self.attr_for(permission)}; "
                         "Dify refuses the call",
                         f"set {key}: true")

    @staticmethod
    def attr_for(permission: str) -> str:
        return next(a for a, p in SESSION_PERMISSIONS.items() if p == permission)


# --- command line -----------------------------------------------------------------
