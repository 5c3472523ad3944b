"""What reading a plugin gives: the check's report, and the runner's view of the plugin.

`CheckReport` is what `dify-devkit check` and the packager need (problems, counts,
the files needed at run time). `PluginDeclarations` adds the values the SDK parsed,
so that the runner uses what was checked instead of reading the files a second
time; `PluginInfo` is the part of it a running plugin needs, and exists only for a
plugin without problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dify_plugin_devkit._declarations.problems import Problem
from dify_plugin_devkit._declarations.routes import Route

if TYPE_CHECKING:
    from dify_plugin_devkit._sdk import PluginConfiguration, ProviderConfig


def app_permission(manifest: PluginConfiguration) -> bool:
    """Whether the plugin may call `self.session.app` (the demo apps answer only then)."""
    permission = manifest.resource.permission
    return bool(permission and permission.app and permission.app.enabled)


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
        return f"ok: {self.name} {self.version}: {self.endpoints} endpoints, {self.settings} settings"


@dataclass(frozen=True)
class PluginInfo:
    """What the runner, its runtimes and devkit.yaml's validation need from a plugin."""

    root: Path  # resolved: the plugin process runs there
    manifest: PluginConfiguration
    settings: tuple[ProviderConfig, ...] = ()
    routes: tuple[Route, ...] = ()

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def entrypoint(self) -> str:
        return self.manifest.meta.runner.entrypoint

    @property
    def app_permission(self) -> bool:
        return app_permission(self.manifest)


@dataclass
class PluginDeclarations(CheckReport):
    """The report plus the declarations as the SDK parsed them.

    `manifest` is None when the SDK refused the manifest; `declared_settings` and
    `routes` are those of the last endpoint group, the only one Dify keeps.
    """

    root: Path = Path(".")
    manifest: PluginConfiguration | None = None
    declared_settings: tuple[ProviderConfig, ...] = ()
    routes: tuple[Route, ...] = ()

    @property
    def entrypoint(self) -> str | None:
        return self.manifest.meta.runner.entrypoint if self.manifest is not None else None

    @property
    def app_permission(self) -> bool:
        return self.manifest is not None and app_permission(self.manifest)

    def plugin_info(self) -> PluginInfo:
        """The runner's view; only for a plugin without problems (the caller checks)."""
        if self.problems or self.manifest is None:
            raise ValueError("plugin_info() of a plugin with problems")
        return PluginInfo(self.root.resolve(), self.manifest, self.declared_settings, self.routes)
