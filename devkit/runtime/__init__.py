"""How the devkit runs a plugin process: stdio (local) or serverless, as Dify does."""

from devkit.runtime.base import PluginExited, PluginRuntime
from devkit.runtime.serverless import ServerlessRuntime
from devkit.runtime.stdio import StdioRuntime

__all__ = ["PluginExited", "PluginRuntime", "ServerlessRuntime", "StdioRuntime"]
