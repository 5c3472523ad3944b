"""Endpoint sources (`extra.python.source`): what the SDK does with them at start-up.

The SDK imports each source as a module (plugin root on sys.path) and looks for
exactly one `Endpoint` subclass in its global names; it refuses to start on none,
on several, and on a class missing `_invoke`. These rules are checked statically
(see pymodules and pynames); every plugin module a source imports is a file the
plugin needs at run time.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import PurePosixPath

from dify_plugin_devkit._declarations.pymodules import Module, PluginModules
from dify_plugin_devkit._declarations.pynames import Binding, Namespaces
from dify_plugin_devkit._declarations.tree import PluginTree

#: Top-level names a source must not shadow: the SDK process imports them first.
RUNTIME_PACKAGES = ("dify_plugin", "werkzeug", "gevent")


def module_name(source: str) -> str:
    """`endpoints/duck.py` -> `endpoints.duck`, the name the SDK imports it under."""
    return PurePosixPath(source).with_suffix("").as_posix().replace("/", ".")


def read_sources(tree: PluginTree, sources: Mapping[str, list[str]]) -> list[Module]:
    """Check each source (declared by the given files); returns every module they reach."""
    modules = PluginModules(tree.root)
    names = Namespaces(modules)
    for source, declared_by in sorted(sources.items()):
        dotted = module_name(source)
        top = dotted.split(".")[0]
        if top in sys.stdlib_module_names or top in RUNTIME_PACKAGES:
            tree.problems.add(
                source,
                "module name",
                f"imports as `{dotted}`, which is an installed module: the SDK "
                "would load that module instead of this file",
                "rename the file or its top directory",
            )
            continue
        module = modules.load(dotted)
        if module is None:
            _syntax_error(tree, modules, source)
            continue
        _endpoint_class(tree, names, module, declared_by)
    reached = modules.reachable(module_name(source) for source in sources)
    tree.files.update(module.rel for module in reached)
    for rel in sorted(modules.syntax_errors):
        if rel not in sources:
            _syntax_error(tree, modules, rel)
    return reached


def _syntax_error(tree: PluginTree, modules: PluginModules, rel: str) -> None:
    exc = modules.syntax_errors.get(rel)
    if exc is not None and not tree.problems.reported(rel, "(python)"):
        tree.problems.add(
            rel,
            "(python)",
            f"syntax error: {exc.msg}",
            "fix the Python syntax; the plugin cannot start",
            line=exc.lineno,
        )


def _endpoint_class(tree: PluginTree, names: Namespaces, module: Module, declared_by: list[str]) -> None:
    found = names.endpoint_classes(module)
    if not found:
        tree.problems.add(
            module.rel,
            "Endpoint subclass",
            f"none in the module (needed by {', '.join(declared_by)})",
            "define one `class X(Endpoint)` with `def _invoke(self, r, values, "
            "settings)` (from dify_plugin import Endpoint)",
        )
        return
    if len(found) > 1:
        described = ", ".join(_describe(names, name, b, module) for name, b in found)
        imported = any(b.module != module.name for _, b in found)
        fix = (
            "import the base's module instead of the class (`from provider import base` "
            "… `class X(base.Base)`), or share code by composition"
            if imported
            else "keep one Endpoint subclass per module: move the others to their own files, "
            "or make the shared base a mixin that does not derive from Endpoint"
        )
        tree.problems.add(
            module.rel,
            "Endpoint subclass",
            f"{len(found)} in the module namespace: {described}; the SDK refuses "
            'to start ("Multiple subclasses of Endpoint")',
            fix,
            line=found[1][1].line,
        )
        return
    name, binding = found[0]
    if names.defines_invoke(binding) is False:
        tree.problems.add(
            module.rel,
            f"{name}._invoke",
            "not defined; Endpoint._invoke is abstract, so every request fails",
            "add `def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response`",
            line=binding.line,
        )


def _describe(names: Namespaces, name: str, binding: Binding, module: Module) -> str:
    """`Name (line n)`, or `Name = Original (imported line n from other/file.py)`."""
    what = "" if binding.name == name else f" = {binding.name}"
    if binding.module == module.name:
        return f"{name}{what} (line {binding.line})"
    origin = names.modules.load(binding.module)
    where = origin.rel if origin is not None else binding.module
    return f"{name}{what} (imported line {binding.line} from {where})"
