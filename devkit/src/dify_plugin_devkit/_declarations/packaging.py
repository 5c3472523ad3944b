"""What Dify needs around the declarations to install and run the plugin.

Dify runs `python -m <meta.runner.entrypoint>` after installing the packages of
requirements.txt or pyproject.toml; and the daemon refuses to set up endpoints,
or to answer a backwards call such as `self.session.app`, unless the manifest
grants the permission. A missing piece surfaces in Dify only after install.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dify_plugin_devkit._declarations.manifest import MANIFEST
from dify_plugin_devkit._declarations.pymodules import SESSION_PERMISSIONS, Module, session_uses
from dify_plugin_devkit._declarations.tree import PluginTree
from dify_plugin_devkit._declarations.yamlfile import dig

#: Either one lets Dify install the plugin's Python packages.
DEPENDENCY_FILES = ("pyproject.toml", "requirements.txt")


def entrypoint_files(entrypoint: str) -> tuple[str, str]:
    """The files `python -m <entrypoint>` may run: a module, or a package's __main__."""
    base = entrypoint.replace(".", "/")
    return f"{base}.py", f"{base}/__main__.py"


def check_entrypoint_and_dependencies(tree: PluginTree, m: Mapping[str, Any]) -> None:
    if dig(m, "meta.runner.language") != "python":
        return  # the SDK's model reported it; nothing else is known about other runners
    entry = dig(m, "meta.runner.entrypoint")
    if isinstance(entry, str) and entry:
        present = [c for c in entrypoint_files(entry) if (tree.root / c).is_file()]
        if present:
            tree.files.add(present[0])
        else:
            base = entry.replace(".", "/")
            tree.problems.add(
                MANIFEST,
                "meta.runner.entrypoint",
                f"{base}.py does not exist (Dify runs `python -m {entry}`)",
                f"create {base}.py that builds and runs a dify_plugin Plugin",
            )
    if not any((tree.root / name).is_file() for name in DEPENDENCY_FILES):
        tree.problems.add(
            "requirements.txt",
            "(file)",
            "missing, and so is pyproject.toml: Dify cannot install the plugin's Python packages",
            "add requirements.txt (e.g. `dify_plugin>=0.10,<0.11`) or pyproject.toml",
        )


def check_permissions(tree: PluginTree, m: Mapping[str, Any], endpoints: int, modules: Iterable[Module]) -> None:
    """Endpoints need the endpoint permission; each `session.<attr>` call needs its own."""
    if endpoints and dig(m, "resource.permission.endpoint.enabled") is not True:
        tree.problems.add(
            MANIFEST,
            "resource.permission.endpoint.enabled",
            f"not true, but the plugin declares {endpoints} endpoints; Dify refuses to set them up",
            "set resource.permission.endpoint.enabled: true",
        )
    needed: dict[str, tuple[str, int, str]] = {}
    for module in modules:
        for attr, line in session_uses(module):
            needed.setdefault(SESSION_PERMISSIONS[attr], (module.rel, line, attr))
    for permission, (rel, line, attr) in sorted(needed.items()):
        key = f"resource.permission.{permission}.enabled"
        if dig(m, key) is not True:
            tree.problems.add(
                MANIFEST,
                key,
                f"not true, but {rel}:{line} calls session.{attr}; Dify refuses the call",
                f"set {key}: true",
            )
