"""Every exception the devkit raises on purpose derives from `DevkitError`.

    DevkitError
    ├── ConfigError               devkit.yaml or an app fixture is wrong (file, hook, field named)
    ├── PluginError               the plugin under test
    │   ├── DeclarationError          manifest / group / endpoint declarations refused
    │   ├── PluginStartError          the process did not become ready in time
    │   └── PluginExited              the process ended (its last stderr lines attached)
    ├── PackageError              a .difypkg cannot be built or read
    │   ├── CheckFailedError          the check found problems; nothing was packed
    │   ├── ExcludedFileError         an ignore rule drops a file the plugin needs
    │   ├── PackageTooLargeError      over Dify's 50 MiB cap
    │   ├── RequirementsExportError   requirements.txt could not be made from uv.lock
    │   └── PackageFormatError        not a .difypkg Dify (or the devkit) can use
    │       └── UnsafeEntryError          an entry would land outside the destination
    └── ProtocolError             a message the daemon would refuse (internal to a session)

A program using the devkit (its CLI included) catches `DevkitError` alone: anything
else escaping is a bug in the devkit, and should show its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dify_plugin_devkit._declarations import Problem


class DevkitError(Exception):
    """Base of every error the devkit reports; the message says what to fix."""


class ConfigError(DevkitError):
    """The devkit configuration (devkit.yaml) or an app fixture is wrong."""


class PluginError(DevkitError):
    """The plugin under test cannot be run."""


class DeclarationError(PluginError):
    """The plugin's declarations would be refused by the SDK or the daemon.

    `problems` holds one `Problem` per finding, as `dify-devkit check` prints them.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class PluginStartError(PluginError):
    """The plugin process started but did not become ready in time."""


class PluginExited(PluginError):
    """The plugin process is gone; the message carries its last stderr lines."""


class PackageError(DevkitError):
    """The plugin cannot be packaged; the message says why and what to do."""


class CheckFailedError(PackageError):
    """The check found problems; a package of this tree would fail in Dify."""

    def __init__(self, problems: Sequence[Problem], plugin_dir: object) -> None:
        self.problems = list(problems)
        lines = "\n".join(p.format(str(plugin_dir)) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s); not packaging:\n{lines}")


class ExcludedFileError(PackageError):
    """An ignore rule leaves out a file the plugin needs at run time."""


class PackageTooLargeError(PackageError):
    """The package would exceed Dify's size cap."""


class RequirementsExportError(PackageError):
    """requirements.txt could not be exported from uv.lock."""


class PackageFormatError(PackageError):
    """The file is not a .difypkg this devkit (or Dify) can use."""


class UnsafeEntryError(PackageFormatError):
    """An entry would be written outside the destination directory."""


class ProtocolError(DevkitError):
    """A plugin message or request the daemon would refuse."""
