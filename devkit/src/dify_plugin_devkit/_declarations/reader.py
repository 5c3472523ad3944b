"""Read a plugin directory once, reporting every problem instead of stopping at the first.

`dify-devkit check`, the packager and the runner all read a plugin here, so they
cannot disagree: what check reports is exactly what stops `dify-devkit run`, and
in the same words. The subjects are read in a fixed order (manifest, entrypoint and
dependency files, endpoint groups, endpoint sources, permissions) because later
ones build on what earlier ones found; a subject that cannot be read stops only
what depends on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from dify_plugin_devkit._declarations.group import read_groups
from dify_plugin_devkit._declarations.manifest import read_manifest
from dify_plugin_devkit._declarations.packaging import (
    check_entrypoint_and_dependencies,
    check_permissions,
)
from dify_plugin_devkit._declarations.problems import Problem, format_problems
from dify_plugin_devkit._declarations.readmes import check_readmes
from dify_plugin_devkit._declarations.report import CheckReport, PluginDeclarations, PluginInfo
from dify_plugin_devkit._declarations.sources import read_sources
from dify_plugin_devkit._declarations.tree import PluginTree
from dify_plugin_devkit._errors import DeclarationError


def read_plugin(path: str | os.PathLike[str]) -> PluginDeclarations:
    """Every problem in the plugin at `path`, its counts and files, and what the SDK parsed."""
    tree = PluginTree(Path(path))
    result = PluginDeclarations(root=tree.root)
    if not tree.root.is_dir():
        tree.problems.add(
            ".",
            "(directory)",
            f"{tree.root} is not a directory",
            "pass the plugin's root directory (the one holding manifest.yaml)",
        )
    elif (manifest := read_manifest(tree)) is not None:
        result.name, result.version, result.manifest = manifest.name, manifest.version, manifest.model
        check_entrypoint_and_dependencies(tree, manifest.data)
        groups = read_groups(tree, manifest.data)
        result.endpoints, result.settings = groups.endpoints, groups.settings
        if groups.read:  # Dify's daemon keeps only the last group it reads
            result.declared_settings = groups.read[-1].settings
            result.routes = groups.read[-1].routes
        modules = read_sources(tree, groups.sources)
        check_permissions(tree, manifest.data, groups.endpoints, modules)
        check_readmes(tree)
    result.problems = tree.problems.as_list()
    result.files = tree.files
    return result


def inspect_plugin(path: str | os.PathLike[str]) -> CheckReport:
    """Check the plugin at `path` and also return what the packager needs to know."""
    return read_plugin(path)


def check_plugin(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem found in the plugin directory at `path` (empty when it is fine)."""
    return read_plugin(path).problems


def load_plugin(path: str | os.PathLike[str]) -> PluginInfo:
    """The plugin as the runner needs it, or DeclarationError listing every problem.

    The message is the lines `dify-devkit check` prints for the same directory, so
    the runner never shows a validation dump, nor only the first problem.
    """
    declarations = read_plugin(path)
    if declarations.problems:
        message = format_problems(declarations.problems, os.fspath(path))
        raise DeclarationError(message, declarations.problems)
    return declarations.plugin_info()
