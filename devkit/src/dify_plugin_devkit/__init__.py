"""dify-plugin-devkit: run, test, check and package Dify plugins without a Dify.

It runs a real plugin process (`python -m main` on the real `dify_plugin` runtime)
over the real wire protocol, serves `/e/<hook_id>/<path>` the way Dify's plugin
daemon does, and answers the plugin's app calls with scripted demo apps.

The public surface:

- `dify-devkit run | check | package` — the command line (`python -m dify_plugin_devkit`);
- `Devkit`, `DevkitOptions` — the same, in-process, for asyncio programs;
- `check_plugin(dir)` → problems; `build_package(dir, out)` → the .difypkg path;
- `dify_plugin_devkit.testing` — `start_devkit(...)` → `RunningDevkit`, for tests;
- the pytest plugin's `dify_devkit` fixture (loaded automatically when installed);
- `DevkitError` and its subclasses (the tree is in `dify_plugin_devkit._errors`).

Everything in a module whose name starts with `_` is private and may change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name -> the private module defining it. Imported on first use, so that
# loading the pytest plugin (or the CLI's --help) does not import aiohttp and the SDK.
_EXPORTS = {
    "Devkit": "_app",
    "DevkitOptions": "_app",
    "CheckReport": "_declarations",
    "Problem": "_declarations",
    "check_plugin": "_declarations",
    "inspect_plugin": "_declarations",
    "build_package": "_package",
    **dict.fromkeys(
        (
            "CheckFailedError",
            "ConfigError",
            "DeclarationError",
            "DevkitError",
            "ExcludedFileError",
            "PackageError",
            "PackageFormatError",
            "PackageTooLargeError",
            "PluginError",
            "PluginExited",
            "PluginStartError",
            "ProtocolError",
            "RequirementsExportError",
            "UnsafeEntryError",
        ),
        "_errors",
    ),
}

# A literal list, so that linters, type checkers and IDEs see the re-exports below
# (devkit/tests/test_public_api.py checks that it names exactly the keys of _EXPORTS).
__all__ = [
    "CheckFailedError",
    "CheckReport",
    "ConfigError",
    "DeclarationError",
    "Devkit",
    "DevkitError",
    "DevkitOptions",
    "ExcludedFileError",
    "PackageError",
    "PackageFormatError",
    "PackageTooLargeError",
    "PluginError",
    "PluginExited",
    "PluginStartError",
    "Problem",
    "ProtocolError",
    "RequirementsExportError",
    "UnsafeEntryError",
    "build_package",
    "check_plugin",
    "inspect_plugin",
]

if TYPE_CHECKING:
    from dify_plugin_devkit._app import Devkit, DevkitOptions
    from dify_plugin_devkit._declarations import CheckReport, Problem, check_plugin, inspect_plugin
    from dify_plugin_devkit._errors import (
        CheckFailedError,
        ConfigError,
        DeclarationError,
        DevkitError,
        ExcludedFileError,
        PackageError,
        PackageFormatError,
        PackageTooLargeError,
        PluginError,
        PluginExited,
        PluginStartError,
        ProtocolError,
        RequirementsExportError,
        UnsafeEntryError,
    )
    from dify_plugin_devkit._package import build_package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dify_plugin_devkit' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dify_plugin_devkit.{module}"), name)
