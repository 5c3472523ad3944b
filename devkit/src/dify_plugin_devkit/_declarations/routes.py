"""Endpoint routes: what the SDK's werkzeug router makes of `method` and `path`.

The SDK adds one werkzeug `Rule` per endpoint declaration, in order, and serves the
first rule that matches; so a path werkzeug cannot compile stops the plugin, and a
(method, path) declared twice leaves the second declaration dead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from werkzeug.routing import Map, Rule

#: endpoint_declaration.go: isAvailableMethod (case-sensitive).
ENDPOINT_METHODS = ("HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Route:
    """One declared endpoint as the runner serves it (and prints it in its banner)."""

    method: str
    path: str
    hidden: bool = False


def rule_error(path: str) -> str | None:
    """Why werkzeug refuses `path` as the SDK compiles it (a Rule in a Map), or None."""
    try:
        Map([Rule(path, endpoint="check")])
    except (ValueError, LookupError, SyntaxError) as exc:
        return str(exc)
    return None


def _shape(path: str) -> str:
    """The path with variable names dropped: `<a>` and `<b>` match the same requests."""
    return re.sub(r"<(?:([^<>:]+):)?[^<>:]+>", lambda g: f"<{g.group(1) or 'default'}>", path)


@dataclass
class RouteTable:
    """The routes declared so far, to find one that an earlier declaration shadows."""

    # (method, shape) -> (declaring file, "METHOD /path" as declared)
    _seen: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def shadowing(self, rel: str, method: str, path: str) -> tuple[str, str] | None:
        """Record the route; or return (file, route) of the earlier one that serves it.

        A GET rule also answers HEAD, so a later HEAD on the same path never runs."""
        shape = _shape(path)
        earlier = self._seen.get((method, shape))
        if earlier is not None:
            return earlier
        self._seen[(method, shape)] = (rel, f"{method} {path}")
        if method == "GET":
            self._seen.setdefault(("HEAD", shape), (rel, f"GET {path}"))
        return None
