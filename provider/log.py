"""Loggers whose lines reach the plugin's log in Dify.

In local (stdio) mode the plugin's stdout is its channel to the daemon: a log line
must be the SDK's JSON `log` event, which `dify_plugin`'s `plugin_logger_handler`
writes (and which the daemon shows as the plugin's log). A plain `print` or a
default logging handler on stdout would corrupt the protocol.

The SDK's handler is attached only when the SDK is already loaded — always so in
the plugin process, where the SDK imports the endpoint modules (which import these).
Importing `dify_plugin` ourselves would cost unit tests of provider modules over a
second and monkey-patch their process for gevent; there, records simply propagate
to the root logger (pytest's `caplog` sees them).
"""

from __future__ import annotations

import logging
import sys


def plugin_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)` at INFO, writing through the SDK's handler in the plugin."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    if "dify_plugin" in sys.modules:
        from dify_plugin.config.logger_format import plugin_logger_handler  # loaded already: costs nothing

        if plugin_logger_handler not in logger.handlers:
            logger.addHandler(plugin_logger_handler)
    return logger
