"""How the devkit runs a plugin process: stdio (local) or serverless, as Dify does."""

from dify_plugin_devkit._runtime.base import PluginExited, PluginRuntime
from dify_plugin_devkit._runtime.serverless import ServerlessRuntime
from dify_plugin_devkit._runtime.stdio import StdioRuntime

__all__ = ["PluginExited", "PluginRuntime", "ServerlessRuntime", "StdioRuntime"]
