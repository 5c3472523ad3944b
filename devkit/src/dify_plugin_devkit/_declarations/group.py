"""The endpoint group (`plugins.endpoints` in the manifest) and its endpoint declarations.

A group file holds the settings form and the list of endpoints; each endpoint is a
YAML file (or an inline mapping) validated with the SDK's `EndpointConfiguration`,
plus the daemon's rules: capital methods, one group per plugin, no dead routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dify_plugin_devkit._declarations.manifest import MANIFEST
from dify_plugin_devkit._declarations.problems import Problems, validation_problems
from dify_plugin_devkit._declarations.routes import ENDPOINT_METHODS, Route, RouteTable, rule_error
from dify_plugin_devkit._declarations.settings import read_settings
from dify_plugin_devkit._declarations.tree import PluginTree
from dify_plugin_devkit._declarations.yamlfile import MISSING, dig

if TYPE_CHECKING:
    from dify_plugin_devkit._sdk import ProviderConfig

GROUP_KEYS = ("settings", "endpoints")
ENDPOINT_KEYS = ("path", "method", "hidden", "extra")
ENDPOINT_HINTS: dict[str, str] = {
    "path": "use a werkzeug rule starting with /, e.g. /duck/<app_id>",
    "method": f"use one of {', '.join(ENDPOINT_METHODS)}, one method per declaration",
    "hidden": "use true or false",
    "extra": "add `extra: {python: {source: endpoints/<name>.py}}`",
}


@dataclass(frozen=True)
class Group:
    """One group file as the SDK parsed it: what the runner serves and asks for."""

    rel: str
    settings: tuple[ProviderConfig, ...]
    routes: tuple[Route, ...]


@dataclass
class Groups:
    """Everything read from the endpoint groups."""

    endpoints: int = 0  # endpoint declarations read
    settings: int = 0  # settings listed
    sources: dict[str, list[str]] = field(default_factory=dict)  # source -> declaring files
    read: list[Group] = field(default_factory=list)  # in manifest order


def read_groups(tree: PluginTree, manifest: Mapping[str, Any]) -> Groups:
    """Read every group the manifest lists, reporting what the SDK or the daemon refuses."""
    result = Groups()
    groups = dig(manifest, "plugins.endpoints")
    if not isinstance(groups, list):
        return result  # the SDK's model reported it
    if len(groups) > 1:
        tree.problems.add(
            MANIFEST,
            "plugins.endpoints",
            f"{len(groups)} endpoint groups; Dify keeps only the last one ({groups[-1]}) and silently drops the others",
            "merge them into one group file (one settings list, one endpoints list)",
        )
    routes = RouteTable()
    for i, group_rel in enumerate(groups):
        if group_rel in groups[:i]:
            tree.problems.add(MANIFEST, f"plugins.endpoints[{i}]", f"lists {group_rel} again", "remove the repeat")
            continue
        group = tree.mapping(group_rel, MANIFEST, f"plugins.endpoints[{i}]", "endpoint group")
        if group is MISSING:
            continue
        _unknown_keys(tree.problems, group_rel, group, GROUP_KEYS, "endpoint group")
        count, settings = read_settings(tree.problems, group_rel, group.get("settings", []))
        result.settings += count
        declared = _read_endpoints(tree, group_rel, group, result, routes)
        result.read.append(Group(group_rel, tuple(settings), tuple(declared)))
    return result


def _unknown_keys(problems: Problems, rel: str, data: Mapping[str, Any], known: tuple[str, ...], what: str) -> None:
    """The SDK ignores unknown keys, so a misspelt one silently does nothing."""
    for key in data:
        if key not in known:
            problems.add(
                rel,
                str(key),
                f"unknown {what} key; the SDK and Dify ignore it",
                f"remove it or fix the spelling (known keys: {', '.join(known)})",
            )


def _read_endpoints(
    tree: PluginTree, group_rel: str, group: Mapping[str, Any], result: Groups, routes: RouteTable
) -> list[Route]:
    """Read the group's endpoint list; returns the routes the SDK accepted."""
    entries = group.get("endpoints", MISSING)
    if entries is MISSING or entries is None or entries == []:
        tree.problems.add(
            group_rel,
            "endpoints",
            "no endpoints declared",
            "list endpoint YAML files, e.g. `endpoints: [endpoints/duck.yaml]`",
        )
        return []
    if not isinstance(entries, list):
        tree.problems.add(group_rel, "endpoints", "not a list", "write `endpoints:` as a list of endpoint YAML paths")
        return []
    accepted: list[Route] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str) and entry in entries[:i]:
            tree.problems.add(group_rel, f"endpoints[{i}]", f"lists {entry} again", "remove the repeat")
            continue
        if isinstance(entry, Mapping):
            rel, data, prefix = group_rel, entry, f"endpoints[{i}]."  # inline declaration
        else:
            data = tree.mapping(entry, group_rel, f"endpoints[{i}]", "endpoint declaration")
            rel, prefix = entry, ""
        if data is MISSING:
            continue
        result.endpoints += 1
        route = _read_endpoint(tree, rel, prefix, data, result.sources, routes)
        if route is not None:
            accepted.append(route)
    return accepted


def _read_endpoint(
    tree: PluginTree, rel: str, prefix: str, data: Mapping[str, Any], sources: dict[str, list[str]], routes: RouteTable
) -> Route | None:
    """Check one declaration; its Route when the SDK's model accepts it."""
    # imported here: the SDK takes seconds to import, and `_apps` imports this package
    from dify_plugin_devkit._sdk import EndpointConfiguration

    problems = tree.problems
    _unknown_keys(problems, rel, data, ENDPOINT_KEYS, "endpoint")
    route = None
    try:
        endpoint = EndpointConfiguration.model_validate(data)
        route = Route(endpoint.method.upper(), endpoint.path, endpoint.hidden)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, rel, ENDPOINT_HINTS, prefix.rstrip(".")))
    method: Any = data.get("method")  # Any: checked below, field by field
    path: Any = data.get("path")
    method_ok = isinstance(method, str) and method in ENDPOINT_METHODS
    if isinstance(method, str) and not method_ok:
        fix = (
            f"write it in capitals: {method.upper()}"
            if method.upper() in ENDPOINT_METHODS
            else ENDPOINT_HINTS["method"]
        )
        problems.add(rel, prefix + "method", f"{method!r} is not a method Dify accepts", fix)
    path_ok = False
    if isinstance(path, str):
        error = rule_error(path)
        path_ok = error is None
        if error is not None:
            problems.add(
                rel, prefix + "path", f"{path!r} is not a valid werkzeug rule: {error}", ENDPOINT_HINTS["path"]
            )
    if method_ok and path_ok:
        earlier = routes.shadowing(rel, method, path)
        if earlier is not None:
            problems.add(
                rel,
                prefix + "method",
                f"{method} {path} is already served by the {earlier[1]} in {earlier[0]}; "
                "werkzeug routes to the first rule, so this one never runs",
                "declare each (method, path) once (a GET also serves HEAD)",
            )
    _source(tree, rel, prefix, data, sources)
    return route


def _source(tree: PluginTree, rel: str, prefix: str, data: Mapping[str, Any], sources: dict[str, list[str]]) -> None:
    """Record `extra.python.source` (a .py file in the plugin) with the file declaring it."""
    source = dig(data, "extra.python.source")
    if source is MISSING:
        return
    target = tree.file(source, rel, prefix + "extra.python.source", "endpoint source")
    if target is None:
        return
    if target.suffix != ".py":
        tree.problems.add(
            rel,
            prefix + "extra.python.source",
            f"{source} is not a .py file",
            "point at the Python file defining the Endpoint subclass",
        )
    else:
        sources.setdefault(PurePosixPath(source).as_posix(), []).append(rel)
