"""What the reader reports: `Problem`, and the one way pydantic errors become text.

A real Dify reports a bad declaration as a raw validation dump, one at a time. The
reader turns each pydantic error into a line a plugin author can act on at once:

    path[:line]: field: what is wrong — how to fix it

`format_loc` is the devkit's only formatter of error locations; the demo-app
fixture loader (`_apps/spec.py`) uses it too, so a field reads the same everywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

#: The fix offered when a field has no hint of its own.
GENERIC_FIX = "correct the value (see the dify_plugin SDK's model for this file)"


@dataclass(frozen=True)
class Problem:
    """One thing Dify would refuse or silently get wrong, with the fix."""

    path: str  # posix path relative to the plugin root
    field: str
    message: str
    fix: str
    line: int | None = None

    def format(self, root: str | os.PathLike[str] | None = None) -> str:
        """`path[:line]: field: message — fix`, path prefixed by `root` when given."""
        if root is None or root in ("", "."):
            where = self.path
        else:
            where = os.fspath(root) if self.path == "." else os.path.join(root, self.path)
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.field}: {self.message} — {self.fix}"

    def __str__(self) -> str:
        return self.format()


def format_problems(problems: Iterable[Problem], root: str | os.PathLike[str] | None) -> str:
    """The lines `dify-devkit check` prints, one per problem; `dify-devkit run` says the same."""
    return "\n".join(problem.format(root) for problem in problems)


class Problems:
    """The problems found so far, in the order found.

    Remembers which (file, field) pairs were reported, so that a daemon rule restating
    what the SDK's model already refused does not report the same field twice.
    """

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._fields: set[tuple[str, str]] = set()

    def add(self, rel: str, field: str, message: str, fix: str, line: int | None = None) -> None:
        self.extend([Problem(rel, field, message, fix, line)])

    def add_once(self, rel: str, field: str, message: str, fix: str) -> None:
        """Add unless this field of this file was reported already."""
        if not self.reported(rel, field):
            self.add(rel, field, message, fix)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self._fields.add((problem.path, problem.field))
            self._items.append(problem)

    def reported(self, rel: str, field: str) -> bool:
        return (rel, field) in self._fields

    def as_list(self) -> list[Problem]:
        return list(self._items)


# --- pydantic errors ------------------------------------------------------------


def format_loc(loc: Sequence[int | str]) -> str:
    """('variables', 0, 'required') -> 'variables[0].required'; () -> ''."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def error_message(error: Mapping[str, Any]) -> str:
    """pydantic's message for one error, without the "Value error, " of custom validators."""
    return str(error["msg"]).removeprefix("Value error, ")


def short(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters: a pasted blob must not flood the line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def hint(field: str, hints: Mapping[str, str]) -> str:
    """The fix for a field: exact match, then without list indexes, then its parents."""
    key = re.sub(r"\[\d+\]", "", field)
    while key:
        if key in hints:
            return hints[key]
        key = key.rpartition(".")[0]
    return GENERIC_FIX


def describe(error: Mapping[str, Any]) -> str:
    """A short 'what is wrong' for one pydantic error, naming the value it got."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "missing":
        return "missing"
    if kind == "string_pattern_mismatch":
        return f"{short(got)} does not match {ctx.get('pattern')}"
    if kind == "enum":
        return f"{short(got)} is not one of {ctx.get('expected')}"
    if kind == "value_error":
        return error_message(error)
    return f"{error['msg']} (got {short(got)})"


def validation_problems(exc: ValidationError, rel: str, hints: Mapping[str, str], prefix: str = "") -> list[Problem]:
    """One Problem per pydantic error; `prefix` places the fields (e.g. settings[x])."""
    out = []
    for error in exc.errors():
        inner = format_loc(error["loc"]) or "(file)"
        name = f"{prefix}.{inner}" if prefix and inner != "(file)" else (prefix or inner)
        out.append(Problem(rel, name, describe(error), hint(inner, hints)))
    return out
