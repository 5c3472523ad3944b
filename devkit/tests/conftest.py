"""Fixtures of the devkit's own tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import httpx
import pytest

from dify_plugin_devkit._environment import PYTHON_ENV


@pytest.fixture(scope="session", autouse=True)
def _plugins_run_with_this_interpreter() -> Iterator[None]:
    """The fixture plugins need only the SDK, which this venv has: `run` and `check` use it
    ($DIFY_DEVKIT_PYTHON) instead of building an environment for every test (session
    scope: module fixtures that start a devkit come first otherwise). The tests of the
    environment itself (test_plugin_environment.py) take it away."""
    before = os.environ.get(PYTHON_ENV)
    os.environ[PYTHON_ENV] = sys.executable
    yield
    if before is None:
        os.environ.pop(PYTHON_ENV, None)
    else:
        os.environ[PYTHON_ENV] = before


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(30.0)) as c:
        yield c
