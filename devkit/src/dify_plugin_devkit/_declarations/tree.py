"""The plugin directory as the reader walks it.

Declarations name files by posix paths relative to the plugin root. Each such path
is resolved here, once, with the same rules for every declaration: it must be text,
stay inside the plugin, and exist. A file found this way is one the plugin needs
at run time, so it is recorded in `files` (the packager refuses to leave it out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dify_plugin_devkit._declarations.problems import Problems, short
from dify_plugin_devkit._declarations.yamlfile import MISSING, YamlFileError, read_yaml


def is_inside(root: Path, candidate: Path) -> bool:
    """Whether `candidate` is `root` or below it once links are resolved."""
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


@dataclass
class PluginTree:
    """The root being read, the problems found in it, the files it needs at run time."""

    root: Path
    problems: Problems = field(default_factory=Problems)
    files: set[str] = field(default_factory=set)

    def file(self, rel: Any, owner: str, field_name: str, what: str) -> Path | None:
        """The plugin file `rel` (named in `owner` at `field_name`), or None after reporting."""
        if not isinstance(rel, str) or not rel.strip():
            self.problems.add(
                owner,
                field_name,
                f"{short(rel)} is not a file path",
                f"give the {what} as a path relative to the plugin root",
            )
            return None
        pure = PurePosixPath(rel)
        target = self.root.joinpath(*pure.parts)
        if pure.is_absolute() or ".." in pure.parts or not is_inside(self.root, target):
            self.problems.add(
                owner,
                field_name,
                f"{rel} points outside the plugin directory",
                f"keep the {what} inside the plugin and name it relative to its root",
            )
            return None
        if not target.is_file():
            self.problems.add(owner, field_name, f"{rel} does not exist", f"create {rel} or fix the path")
            return None
        self.files.add(pure.as_posix())
        return target

    def mapping(self, rel: Any, owner: str, field_name: str, what: str) -> Any:
        """The YAML mapping in the plugin file `rel`, or MISSING after reporting why not."""
        path = self.file(rel, owner, field_name, what)
        if path is None:
            return MISSING
        try:
            data = read_yaml(path)
        except YamlFileError as exc:
            self._report_unreadable(rel, exc)
            return MISSING
        if not isinstance(data, dict):
            self.problems.add(
                rel,
                "(file)",
                f"top level is {type(data).__name__}, not a mapping",
                f"write the {what} as `key: value` lines",
            )
            return MISSING
        return data

    def _report_unreadable(self, rel: str, exc: YamlFileError) -> None:
        if exc.failure == "syntax":
            self.problems.add(
                rel,
                "(yaml)",
                f"not valid YAML: {exc.summary}",
                "fix the YAML syntax (indentation, quotes, colons)",
                line=exc.line,
            )
        elif exc.failure == "not-utf8":
            self.problems.add(rel, "(file)", "not UTF-8 text", "save the file as UTF-8")
        else:  # vanished or unreadable since `file` found it
            self.problems.add(rel, "(file)", f"cannot be read: {exc.detail}", "make it a readable file")
