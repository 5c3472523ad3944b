"""manifest.yaml: the SDK's model, then the daemon's extra rules.

The SDK's `PluginConfiguration` validates the file, so the rules cannot drift from
what the SDK accepts. The daemon's own rules (version format, lowercase author,
length limits, tags, which extension kinds may be combined) live in Go and are
restated here; a field the SDK already refused is not reported again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dify_plugin_devkit._declarations.i18n import check_i18n
from dify_plugin_devkit._declarations.problems import Problems, short, validation_problems
from dify_plugin_devkit._declarations.tree import PluginTree, is_inside
from dify_plugin_devkit._declarations.yamlfile import MISSING, dig

if TYPE_CHECKING:
    from dify_plugin_devkit._sdk import PluginConfiguration

MANIFEST = "manifest.yaml"
ASSETS_DIR = "_assets"

#: manifest_entities/version.go: VERSION_PATTERN, used for `version` and `meta.version`.
DAEMON_VERSION_RE = re.compile(r"^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$")
#: plugin_declaration.go: AuthorRegex (the SDK also allows capitals; the daemon does not).
DAEMON_AUTHOR_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
#: manifest_entities/tags.go: isPluginTag.
PLUGIN_TAGS = (
    "search",
    "image",
    "videos",
    "weather",
    "finance",
    "design",
    "travel",
    "social",
    "news",
    "medical",
    "productivity",
    "education",
    "business",
    "entertainment",
    "utilities",
    "agent",
    "rag",
    "other",
    "trigger",
)
#: plugin_declaration.go: icon `max=128`; PluginExtensions entries are `max=128`.
ICON_MAX_CHARS = 128
EXTENSION_PATH_MAX_CHARS = 128
#: Extension kinds the daemon refuses to combine (ManifestValidate): each of these
#: must be the plugin's only kind. Tools and endpoints may live together.
EXCLUSIVE_EXTENSIONS = ("models", "agent_strategies", "datasources", "triggers")

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


@dataclass(frozen=True)
class Manifest:
    """The manifest as written (`data`) and as the SDK parsed it (None if it refused)."""

    data: dict[str, Any]
    model: PluginConfiguration | None

    @property
    def name(self) -> str | None:
        name = self.data.get("name")
        return name if isinstance(name, str) else None

    @property
    def version(self) -> str | None:
        version = self.data.get("version")
        return version if isinstance(version, str) else None


def read_manifest(tree: PluginTree) -> Manifest | None:
    """Validate manifest.yaml; None when there is no readable mapping to go on with."""
    data = tree.mapping(MANIFEST, MANIFEST, "(file)", "manifest")
    if data is MISSING:
        return None
    model = _sdk_model(tree.problems, data)
    _daemon_rules(tree.problems, data)
    for key in ("label", "description"):
        check_i18n(tree.problems, MANIFEST, key, data.get(key, MISSING))
    _icons(tree, data)
    _meta_and_resource(tree.problems, data)
    _links(tree, data)
    _extension_kinds(tree.problems, data)
    return Manifest(data, model)


def _sdk_model(problems: Problems, data: dict[str, Any]) -> PluginConfiguration | None:
    # imported here: the SDK takes seconds to import, and `_apps` imports this package
    from dify_plugin_devkit._sdk import PluginConfiguration

    try:
        return PluginConfiguration.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, MANIFEST, MANIFEST_HINTS))
        return None


def _daemon_rules(problems: Problems, m: dict[str, Any]) -> None:
    for key in ("version", "meta.version"):
        value = dig(m, key)
        if value is not MISSING and not (isinstance(value, str) and DAEMON_VERSION_RE.match(value)):
            problems.add_once(
                MANIFEST, key, f"{short(value)} is not the X.Y.Z form Dify's daemon accepts", MANIFEST_HINTS[key]
            )
    author = m.get("author", MISSING)
    if not (isinstance(author, str) and DAEMON_AUTHOR_RE.match(author)):
        what = (
            "missing"
            if author is MISSING or author is None
            else (f"{short(author)} does not match {DAEMON_AUTHOR_RE.pattern} (Dify's daemon)")
        )
        problems.add_once(MANIFEST, "author", what, MANIFEST_HINTS["author"])


def _icons(tree: PluginTree, m: dict[str, Any]) -> None:
    """Icons are named relative to _assets/, unlike every other path in a plugin."""
    for key in ("icon", "icon_dark"):
        icon = m.get(key)
        if not isinstance(icon, str):
            continue  # absent or not text: the SDK model reported it (icon_dark is optional)
        target = tree.root / ASSETS_DIR / icon
        if not icon.strip():
            tree.problems.add(MANIFEST, key, "empty", MANIFEST_HINTS[key])
        elif len(icon) > ICON_MAX_CHARS:
            tree.problems.add(MANIFEST, key, f"longer than {ICON_MAX_CHARS} characters", "shorten it")
        elif ".." in PurePosixPath(icon).parts or not is_inside(tree.root / ASSETS_DIR, target):
            tree.problems.add(
                MANIFEST,
                key,
                f"{icon} is not inside {ASSETS_DIR}/",
                f"name a file inside {ASSETS_DIR}/, relative to it",
            )
        elif not target.is_file():
            tree.problems.add(
                MANIFEST,
                key,
                f"{ASSETS_DIR}/{icon} does not exist",
                f"add the image as {ASSETS_DIR}/{icon} (icon names are relative to {ASSETS_DIR}/)",
            )
        else:
            tree.files.add(f"{ASSETS_DIR}/{icon}")


def _meta_and_resource(problems: Problems, m: dict[str, Any]) -> None:
    memory = dig(m, "resource.memory")
    if isinstance(memory, int) and not isinstance(memory, bool) and memory <= 0:
        problems.add_once(
            MANIFEST, "resource.memory", f"{memory} is not a positive size", MANIFEST_HINTS["resource.memory"]
        )
    storage = dig(m, "resource.permission.storage")
    if isinstance(storage, Mapping) and storage.get("size") is None:
        # plugin_declaration.go: Size `validate:"min=1024,max=1073741824"`, 0 when absent
        # (the SDK defaults it to 1 MiB, the daemon does not)
        problems.add_once(
            MANIFEST,
            "resource.permission.storage.size",
            "missing; Dify's daemon refuses a storage permission without a size (1024 to 1073741824 bytes)",
            "set the storage quota in bytes, e.g. `size: 1048576` (1 MiB)",
        )
    arch = dig(m, "meta.arch")
    if isinstance(arch, list) and not arch:
        problems.add_once(MANIFEST, "meta.arch", "empty", MANIFEST_HINTS["meta.arch"])
    for key, limit in (("meta.runner.version", 128), ("meta.runner.entrypoint", 256)):
        value = dig(m, key)
        if isinstance(value, str) and len(value) > limit:
            problems.add_once(MANIFEST, key, f"longer than {limit} characters", MANIFEST_HINTS[key])


def _links(tree: PluginTree, m: dict[str, Any]) -> None:
    tags = m.get("tags", [])
    for i, tag in enumerate(tags if isinstance(tags, list) else [tags]):
        if tag not in PLUGIN_TAGS:
            tree.problems.add(
                MANIFEST,
                f"tags[{i}]",
                f"{short(tag)} is not a Dify tag",
                f"use one of {', '.join(PLUGIN_TAGS)}, or remove it",
            )
    repo = m.get("repo")
    if repo is not None and not (isinstance(repo, str) and re.match(r"^https?://\S+$", repo)):
        tree.problems.add(
            MANIFEST, "repo", f"{short(repo)} is not a URL", "give the repository's https:// URL, or remove repo"
        )
    privacy = m.get("privacy")
    if isinstance(privacy, str) and not re.match(r"^https?://", privacy):
        tree.file(privacy, MANIFEST, "privacy", "privacy policy file")


def _extension_kinds(problems: Problems, m: dict[str, Any]) -> None:
    plugins = m.get("plugins")
    if not isinstance(plugins, Mapping):
        return
    declared = [k for k, v in plugins.items() if isinstance(v, list) and v]
    if not declared:
        problems.add_once(
            MANIFEST,
            "plugins",
            "declares no extension",
            "list the endpoint group: `plugins: {endpoints: [group/<name>.yaml]}`",
        )
    for kind in EXCLUSIVE_EXTENSIONS:
        if kind in declared and len(declared) > 1:
            problems.add(
                MANIFEST,
                f"plugins.{kind}",
                f"cannot be combined with {', '.join(k for k in declared if k != kind)}",
                "split them into separate plugins",
            )
    for kind, entries in plugins.items():
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, str) and len(entry) > EXTENSION_PATH_MAX_CHARS:
                problems.add(
                    MANIFEST,
                    f"plugins.{kind}[{i}]",
                    f"longer than {EXTENSION_PATH_MAX_CHARS} characters",
                    "use a shorter path",
                )
