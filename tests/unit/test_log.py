"""provider.log: in the plugin process, lines go through the SDK's handler (stdout
is the protocol channel); elsewhere they propagate to the root logger."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import types

import pytest

from provider.log import plugin_logger


def test_a_logger_without_the_sdk_is_named_at_info_and_has_no_handler_of_its_own() -> None:
    logger = plugin_logger("tests.unit.test_log.plain")
    assert logger is logging.getLogger("tests.unit.test_log.plain")
    assert logger.level == logging.INFO
    if "dify_plugin" not in sys.modules:  # the in-process endpoint tests may have loaded the SDK
        assert logger.handlers == []


def test_with_the_sdk_loaded_lines_go_through_its_handler_once() -> None:
    """Run in a fresh interpreter: importing the SDK here would monkey-patch this one."""
    script = textwrap.dedent(
        """
        import dify_plugin
        from dify_plugin.config.logger_format import plugin_logger_handler
        from provider.log import plugin_logger
        first = plugin_logger("x")
        again = plugin_logger("x")
        assert again is first
        assert first.handlers == [plugin_logger_handler], first.handlers
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip().endswith("ok"), done.stderr


def test_when_the_sdk_is_loaded_its_handler_is_attached_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, with a stand-in for the SDK's logger module in `sys.modules` (the
    real import would monkey-patch this test process for gevent)."""
    handler = logging.NullHandler()
    stand_in = types.ModuleType("dify_plugin.config.logger_format")
    stand_in.plugin_logger_handler = handler  # type: ignore[attr-defined]
    for name in ("dify_plugin", "dify_plugin.config"):
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name) or types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "dify_plugin.config.logger_format", stand_in)
    monkeypatch.setattr(sys.modules["dify_plugin.config"], "logger_format", stand_in, raising=False)
    plugin_logger("tests.unit.test_log.sdk")
    logger = plugin_logger("tests.unit.test_log.sdk")
    assert logger.handlers == [handler]
    logger.handlers.clear()
