"""What the names of a plugin module refer to, as far as static analysis can tell.

The SDK finds an endpoint's class by scanning the module's global names for
`Endpoint` subclasses and refuses to start when there is more than one, which
catches anyone importing a shared base class into an endpoint module. So the
reader resolves every global name, also through imports from other plugin
modules, and tells which are `Endpoint` subclasses and whether they define `_invoke`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dify_plugin_devkit._declarations.pymodules import Module, PluginModules

#: Modules whose `Endpoint` is the SDK's base class itself (not a subclass).
SDK_ENDPOINT_MODULES = frozenset(
    {
        "dify_plugin",
        "dify_plugin.interfaces.endpoint",
        "dify_plugin.interfaces.endpoint.endpoint",
    }
)


BindingKind = Literal["class", "module", "sdk_endpoint", "other"]


@dataclass(frozen=True)
class Binding:
    """What a module-level name refers to, as far as static analysis can tell."""

    kind: BindingKind
    module: str  # defining module (class), dotted name (module), "" otherwise
    name: str  # class name, or the name it was imported under originally
    line: int  # where it was bound in the module that binds it
    local: bool = True  # the module (or class's module) is part of the plugin


class Namespaces:
    """The global names of plugin modules after their top level ran (the SDK's `vars(mod)`)."""

    def __init__(self, modules: PluginModules) -> None:
        self.modules = modules
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._endpoint_memo: dict[tuple[str, str], bool] = {}

    def bindings(self, module: Module) -> dict[str, Binding]:
        """The module's global names after its top level ran (the SDK's `vars(mod)`)."""
        if module.name not in self._bindings:
            self._bindings[module.name] = {}  # a cycle sees an empty namespace, as Python would
            names: dict[str, Binding] = {}
            self._bind_body(module, module.tree.body, names)
            self._bindings[module.name] = names
        return self._bindings[module.name]

    def _bind_body(self, module: Module, body: list[ast.stmt], names: dict[str, Binding]) -> None:
        for stmt in body:
            match stmt:
                case ast.ClassDef(name=name):
                    names[name] = Binding("class", module.name, name, stmt.lineno)
                case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name):
                    names[name] = Binding("other", "", name, stmt.lineno)
                case ast.Import(names=aliases):
                    for alias in aliases:
                        self._bind_import(alias, stmt.lineno, names)
                case ast.ImportFrom():
                    self._bind_import_from(module, stmt, names)
                case ast.Assign(targets=targets, value=value):
                    resolved = self._resolve(module, value, names)
                    for target in targets:
                        if isinstance(target, ast.Name):
                            names[target.id] = (
                                Binding(resolved.kind, resolved.module, resolved.name, stmt.lineno, resolved.local)
                                if resolved is not None
                                else Binding("other", "", target.id, stmt.lineno)
                            )
                case ast.AnnAssign(target=ast.Name(id=name)) | ast.AugAssign(target=ast.Name(id=name)):
                    names[name] = Binding("other", "", name, stmt.lineno)
                case ast.If() | ast.For() | ast.While() | ast.With():
                    self._bind_body(module, stmt.body, names)
                    self._bind_body(module, getattr(stmt, "orelse", []), names)
                case ast.Try() | ast.TryStar():
                    self._bind_body(module, stmt.body, names)
                    for handler in stmt.handlers:
                        self._bind_body(module, handler.body, names)
                    self._bind_body(module, stmt.orelse, names)
                    self._bind_body(module, stmt.finalbody, names)

    def _bind_import(self, alias: ast.alias, line: int, names: dict[str, Binding]) -> None:
        if alias.asname:
            target, bound = alias.name, alias.asname
        else:
            target = bound = alias.name.split(".")[0]
        names[bound] = Binding("module", target, target, line, self.modules.is_local(target))

    def _bind_import_from(self, module: Module, stmt: ast.ImportFrom, names: dict[str, Binding]) -> None:
        source = self.modules.absolute(module, stmt)
        source_module = self.modules.load(source) if self.modules.is_local(source) else None
        for alias in stmt.names:
            if alias.name == "*":
                if source_module is not None:
                    for name, binding in self._public(source_module).items():
                        names[name] = Binding(binding.kind, binding.module, binding.name, stmt.lineno, binding.local)
                elif source in SDK_ENDPOINT_MODULES:
                    names["Endpoint"] = Binding("sdk_endpoint", source, "Endpoint", stmt.lineno, local=False)
                continue
            bound = alias.asname or alias.name
            names[bound] = self._lookup_from(source, source_module, alias.name, stmt.lineno)

    def _lookup_from(self, source: str, source_module: Module | None, name: str, line: int) -> Binding:
        submodule = f"{source}.{name}" if source else name
        if self.modules.file_for(submodule) is not None:
            return Binding("module", submodule, submodule, line)
        if source_module is not None:
            found = self.bindings(source_module).get(name)
            if found is not None:
                return Binding(found.kind, found.module, found.name, line, found.local)
            return Binding("other", "", name, line)
        if source in SDK_ENDPOINT_MODULES and name == "Endpoint":
            return Binding("sdk_endpoint", source, name, line, local=False)
        return Binding("other", source, name, line, local=False)

    def _public(self, module: Module) -> dict[str, Binding]:
        """What `from m import *` binds: a literal `__all__`, else names without `_`."""
        names = self.bindings(module)
        for stmt in module.tree.body:
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets)
                and isinstance(stmt.value, ast.List | ast.Tuple)
            ):
                listed = {e.value for e in stmt.value.elts if isinstance(e, ast.Constant)}
                return {k: v for k, v in names.items() if k in listed}
        return {k: v for k, v in names.items() if not k.startswith("_")}

    def _resolve(self, module: Module, expr: ast.expr, names: Mapping[str, Binding] | None = None) -> Binding | None:
        """What an expression such as `Endpoint` or `base.GalleryEndpoint` names."""
        names = self.bindings(module) if names is None else names
        match expr:
            case ast.Name(id=ident):
                found = names.get(ident)
                if found is None and ident == "Endpoint":
                    return Binding("sdk_endpoint", "", "Endpoint", expr.lineno, local=False)
                if found is not None and found.kind == "other" and found.name == "Endpoint":
                    return Binding("sdk_endpoint", found.module, "Endpoint", found.line, False)
                return found
            case ast.Attribute(value=value, attr=attr):
                owner = self._resolve(module, value, names)
                if owner is None or owner.kind != "module":
                    return None
                dotted = f"{owner.module}.{attr}"
                if not owner.local:
                    if owner.module in SDK_ENDPOINT_MODULES and attr == "Endpoint":
                        return Binding("sdk_endpoint", owner.module, attr, expr.lineno, False)
                    return Binding("module", dotted, dotted, expr.lineno, local=False)
                if self.modules.is_local(dotted):
                    return Binding("module", dotted, dotted, expr.lineno)
                target = self.modules.load(owner.module)
                return self.bindings(target).get(attr) if target is not None else None
            case ast.Subscript(value=value):
                return self._resolve(module, value, names)
        return None

    # Endpoint subclasses ----------------------------------------------------

    def class_def(self, binding: Binding) -> tuple[Module, ast.ClassDef] | None:
        """The plugin module and `class` statement a class binding refers to."""
        module = self.modules.load(binding.module) if binding.local else None
        if module is None:
            return None
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and node.name == binding.name:
                return module, node
        return None

    def is_endpoint_class(self, binding: Binding) -> bool:
        """Whether the binding is a class deriving, through any bases, from the SDK's Endpoint."""
        if binding.kind != "class":
            return False
        key = (binding.module, binding.name)
        if key not in self._endpoint_memo:
            self._endpoint_memo[key] = False  # cycle guard
            found = self.class_def(binding)
            result = False
            if found is not None:
                module, node = found
                for base in node.bases:
                    resolved = self._resolve(module, base)
                    if resolved is not None and (resolved.kind == "sdk_endpoint" or self.is_endpoint_class(resolved)):
                        result = True
                        break
            self._endpoint_memo[key] = result
        return self._endpoint_memo[key]

    def endpoint_classes(self, module: Module) -> list[tuple[str, Binding]]:
        """(global name, binding) for every Endpoint subclass the SDK would find."""
        return [(name, binding) for name, binding in self.bindings(module).items() if self.is_endpoint_class(binding)]

    def defines_invoke(self, binding: Binding) -> bool | None:
        """Whether the class or a base defines `_invoke`; None when a base is unknowable."""
        found = self.class_def(binding)
        if found is None:
            return None
        module, node = found
        if any(
            isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "_invoke" for item in node.body
        ):
            return True
        unknown = False
        for base in node.bases:
            resolved = self._resolve(module, base)
            if resolved is None or (resolved.kind != "sdk_endpoint" and not resolved.local):
                unknown = True
            elif resolved.kind == "class":
                inherited = self.defines_invoke(resolved)
                if inherited:
                    return True
                unknown = unknown or inherited is None
        return None if unknown else False
