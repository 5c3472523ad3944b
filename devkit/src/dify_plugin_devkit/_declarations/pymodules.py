"""A plugin's Python modules, found and parsed the way the SDK would import them,
but with `ast` only: reading must never run plugin code (nor the SDK's gevent
patching) inside the devkit.

The plugin root is on sys.path when Dify runs a plugin, so `endpoints/duck.py` is
the module `endpoints.duck` and `provider/__init__.py` the package `provider`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: `self.session.<attr>` → the manifest permission it needs (dify_plugin/core/runtime.py
#: Session attributes; the daemon refuses backwards calls without the permission).
SESSION_PERMISSIONS = {
    "app": "app",
    "model": "model",
    "tool": "tool",
    "workflow_node": "node",
    "storage": "storage",
}


@dataclass(frozen=True)
class Module:
    """One parsed plugin module: dotted name, posix path from the root, syntax tree."""

    name: str
    rel: str
    tree: ast.Module
    is_package: bool


class PluginModules:
    """Plugin-local modules, resolved and parsed lazily, each at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modules: dict[str, Module | None] = {}
        #: posix path -> the SyntaxError that kept it from parsing
        self.syntax_errors: dict[str, SyntaxError] = {}

    def file_for(self, dotted: str) -> tuple[Path, bool] | None:
        """(file, is_package) of a plugin-local module, or None when it is not one."""
        base = self.root.joinpath(*dotted.split("."))
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py"), False
        if (base / "__init__.py").is_file():
            return base / "__init__.py", True
        return None

    def is_local(self, dotted: str) -> bool:
        """A module or namespace-package directory of the plugin (not installed code)."""
        return self.file_for(dotted) is not None or self.root.joinpath(*dotted.split(".")).is_dir()

    def load(self, dotted: str) -> Module | None:
        """The parsed module, or None when absent or not valid Python (see syntax_errors)."""
        if dotted in self._modules:
            return self._modules[dotted]
        found = self.file_for(dotted)
        module = None
        if found is not None:
            path, is_package = found
            rel = path.relative_to(self.root).as_posix()
            try:
                tree = ast.parse(path.read_bytes(), filename=rel)
            except SyntaxError as exc:
                self.syntax_errors[rel] = exc
            else:
                module = Module(dotted, rel, tree, is_package)
        self._modules[dotted] = module
        return module

    @staticmethod
    def absolute(module: Module, node: ast.ImportFrom) -> str:
        """The absolute module name of `from <...> import`, relative levels resolved."""
        if not node.level:
            return node.module or ""
        package = module.name.split(".")
        if not module.is_package:
            package = package[:-1]
        if node.level - 1 > len(package):
            return ""  # beyond the top: Python raises ImportError; nothing local to find
        package = package[: len(package) - (node.level - 1)]
        return ".".join([*package, *([node.module] if node.module else [])])

    # the import graph -------------------------------------------------------

    def imported_modules(self, module: Module) -> Iterator[str]:
        """Plugin-local modules this module imports anywhere (also inside functions)."""
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    for i in range(1, len(parts) + 1):
                        if self.file_for(".".join(parts[:i])) is not None:
                            yield ".".join(parts[:i])
            elif isinstance(node, ast.ImportFrom):
                source = self.absolute(module, node)
                if source and self.file_for(source) is not None:
                    yield source
                for alias in node.names:
                    sub = f"{source}.{alias.name}" if source else alias.name
                    if alias.name != "*" and self.file_for(sub) is not None:
                        yield sub

    def reachable(self, roots: Iterable[str]) -> list[Module]:
        """The modules `roots` import, directly or not, themselves included; sorted by name."""
        seen: dict[str, Module] = {}
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            module = self.load(name)
            if module is None:
                continue
            seen[name] = module
            todo.extend(self.imported_modules(module))
        return [seen[name] for name in sorted(seen)]


def session_uses(module: Module) -> Iterator[tuple[str, int]]:
    """(attribute, line) for each `session.<attr>` / `x.session.<attr>` expression."""
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Attribute) or node.attr not in SESSION_PERMISSIONS:
            continue
        owner = node.value
        if (isinstance(owner, ast.Name) and owner.id == "session") or (
            isinstance(owner, ast.Attribute) and owner.attr == "session"
        ):
            yield node.attr, node.lineno
