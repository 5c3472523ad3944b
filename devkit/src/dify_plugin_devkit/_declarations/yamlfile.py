"""The one YAML loader: every reader of a YAML file (the plugin's declarations,
devkit.yaml, demo-app fixtures) goes through `read_yaml`.

It raises `YamlFileError`, which is deliberately not a `DevkitError`: each caller
turns it into its own error (a check `Problem`, a `ConfigError`) in its own words,
at its own boundary, so the loader never decides how a failure is presented.

`MISSING` and `dig` read values out of the parsed, untyped data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

#: Why a file could not be read: absent, unreadable (permissions, a directory...),
#: not UTF-8, or not YAML.
YamlFailure = Literal["missing", "unreadable", "not-utf8", "syntax"]


class YamlFileError(Exception):
    """A YAML file could not be read or parsed.

    `detail` is the full explanation (for a syntax error, the parser's own text with
    its marks); `summary` is one line of it; `line` is 1-based, for syntax errors.
    """

    def __init__(
        self, path: Path, failure: YamlFailure, detail: str, *, summary: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.failure = failure
        self.detail = detail
        self.summary = summary if summary is not None else detail
        self.line = line


def read_yaml(path: Path) -> Any:
    """The file's YAML document (None when it is empty), or YamlFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise YamlFileError(path, "missing", exc.strerror or "file not found") from exc
    except UnicodeDecodeError as exc:
        raise YamlFileError(path, "not-utf8", "not UTF-8 text") from exc
    except OSError as exc:
        raise YamlFileError(path, "unreadable", exc.strerror or str(exc)) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        summary = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlFileError(
            path, "syntax", str(exc), summary=summary, line=mark.line + 1 if mark is not None else None
        ) from exc


# --- values of parsed YAML ------------------------------------------------------

#: A key that is absent (distinct from a key whose value is null).
MISSING: Any = object()


def dig(data: Any, dotted: str) -> Any:
    """`data["a"]["b"]` for "a.b", or MISSING as soon as a level is absent."""
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return MISSING
        data = data[part]
    return data
