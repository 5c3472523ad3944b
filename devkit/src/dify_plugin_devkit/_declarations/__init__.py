"""A plugin's declarations, read once: every problem, and what the runner needs.

One reader for `dify-devkit check`, `dify-devkit package` and `dify-devkit run`, so
that they agree on what is wrong and say it in the same words. It validates the
way the Python SDK (`dify_plugin`, which refuses to start) and the Go plugin daemon
(which refuses to install, or silently drops things) will, and reports everything
at once, one line each:

    path[:line]: field: what is wrong — how to fix it

One module per subject:

- problems    `Problem`, and how pydantic errors and their locations become text
- yamlfile    the one YAML loader (also used by devkit.yaml and demo-app fixtures)
- tree        plugin-relative paths named in declarations; the files needed at run time
- manifest    manifest.yaml: the SDK's model and the daemon's rules
- i18n        the daemon's limits on I18n texts
- group       the endpoint group and its endpoint declarations
- settings    the group's settings form
- routes      endpoint routes as the SDK's werkzeug router sees them
- sources     endpoint sources: the Endpoint subclass rules (over pymodules, pynames)
- packaging   entrypoint, dependency files, permissions
- report      `CheckReport`, `PluginDeclarations`, `PluginInfo`
- reader      `read_plugin` and its callers' entry points

The SDK's models are imported on first validation, not with this package: the
SDK takes seconds to import, and the demo-app loader imports this package.
"""

from __future__ import annotations

from dify_plugin_devkit._declarations.problems import Problem, format_problems
from dify_plugin_devkit._declarations.reader import (
    check_plugin,
    inspect_plugin,
    load_plugin,
    read_plugin,
)
from dify_plugin_devkit._declarations.report import CheckReport, PluginDeclarations, PluginInfo
from dify_plugin_devkit._declarations.routes import Route

__all__ = [
    "CheckReport",
    "PluginDeclarations",
    "PluginInfo",
    "Problem",
    "Route",
    "check_plugin",
    "format_problems",
    "inspect_plugin",
    "load_plugin",
    "read_plugin",
]
