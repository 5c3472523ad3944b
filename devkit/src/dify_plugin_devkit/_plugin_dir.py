"""Read what the daemon needs from a plugin directory: manifest and endpoint group.

Parsed with the SDK's own pydantic models, so that a manifest the SDK would refuse
is refused here too, with the SDK's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from dify_plugin_devkit._sdk import EndpointConfiguration, PluginConfiguration, ProviderConfig
from pydantic import ValidationError

from dify_plugin_devkit._errors import DeclarationError


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    hidden: bool = False


@dataclass(frozen=True)
class PluginInfo:
    root: Path
    manifest: PluginConfiguration
    group_file: Path | None
    settings: tuple[ProviderConfig, ...]
    routes: tuple[Route, ...] = ()

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def entrypoint(self) -> str:
        return self.manifest.meta.runner.entrypoint

    @property
    def app_permission(self) -> bool:
        permission = self.manifest.resource.permission
        return bool(permission and permission.app and permission.app.enabled)


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeclarationError(f"{path}: file not found") from None
    except yaml.YAMLError as error:
        raise DeclarationError(f"{path}: not valid YAML: {error}") from None


def load_plugin(root: Path) -> PluginInfo:
    root = root.resolve()
    manifest_path = root / "manifest.yaml"
    try:
        manifest = PluginConfiguration.model_validate(_load_yaml(manifest_path))
    except ValidationError as error:
        raise DeclarationError(f"{manifest_path}: {error}") from None

    groups = manifest.plugins.endpoints
    if not groups:
        return PluginInfo(root, manifest, None, ())
    # The daemon keeps only the last group it reads; so do we.
    group_file = root / groups[-1]
    group = _load_yaml(group_file)
    if not isinstance(group, dict):
        raise DeclarationError(f"{group_file}: expected a mapping with `settings` and `endpoints`")
    settings = []
    for index, raw in enumerate(group.get("settings") or []):
        try:
            settings.append(ProviderConfig.model_validate(raw))
        except ValidationError as error:
            raise DeclarationError(f"{group_file}: settings[{index}]: {error}") from None
    routes = []
    for index, entry in enumerate(group.get("endpoints") or []):
        raw = _load_yaml(root / entry) if isinstance(entry, str) else entry
        try:
            endpoint = EndpointConfiguration.model_validate(raw)
        except ValidationError as error:
            raise DeclarationError(f"{group_file}: endpoints[{index}]: {error}") from None
        routes.append(Route(endpoint.method.upper(), endpoint.path, endpoint.hidden))
    return PluginInfo(root, manifest, group_file, tuple(settings), tuple(routes))
