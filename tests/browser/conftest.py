"""Real-browser tests: Debian's Chromium driven by Playwright, against the plugin behind the devkit.

Escaping, progressive rendering, EventSource, `fetch` streaming and CORS only show
their truth in a browser, so these tests load the pages in one.

- Chromium is the system's (`/usr/bin/chromium`, Debian's `chromium` package; `.ci/run`
  installs it), handed to Playwright as `executable_path`. Never `playwright install`:
  the tests must not download a browser build.
- Without that Chromium the tests FAIL, so that CI cannot pass by not testing. A laptop
  without it opts out explicitly with `SKIP_BROWSER_TESTS=1` (or points `CHROMIUM` at
  another Chromium/Chrome binary).
- One browser for all of them (a start costs about a second); a fresh context
  (cookies, storage, JavaScript switch, viewport) per test, so that tests cannot see
  each other. Every wait is bounded (Playwright's default timeouts, set below).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    ViewportSize,
    sync_playwright,
)

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import RunningDevkit
from tests.browser.apps import APPS
from tests.conftest import ROOT

#: Debian's Chromium; `CHROMIUM=/path/to/chrome` points elsewhere (a laptop).
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: `SKIP_BROWSER_TESTS=1`: the explicit opt-out for a machine without Chromium. CI never sets it.
OPT_OUT = "SKIP_BROWSER_TESTS"
#: Headless, no sandbox (containers run as root, where Chromium's sandbox cannot start),
#: no GPU, and none of Chromium's own network traffic (updates, sync, first-run pages):
#: the only requests are the tests' own. (Playwright's `headless=True` adds `--headless`
#: too; the flag given twice is the same flag.)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Upper bounds on every browser wait (ms): a hung stream fails the test, never hangs it.
LAUNCH_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 20_000
#: Desktop and phone widths of the screenshots and layout checks.
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=360, height=740)
#: The API key of the `locked` endpoint instance.
LOCKED_KEY = "browser-s3cret"
#: Where screenshots go (gitignored, and kept out of the package by .difyignore).
ARTIFACTS = ROOT / "test-artifacts"

#: Run completion apps as a later Dify does: these tests exercise /completion on purpose.
LATER_DIFY = {"quirks": {"completion_from_plugin_fails": False}}


def chromium_path() -> Path:
    """The Chromium to drive; fails (or, opted out, skips) the test when there is none."""
    path = Path(os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"no Chromium at {path} and {OPT_OUT}=1")
    pytest.fail(
        f"the browser tests need Chromium at {path}: install Debian's `chromium` package "
        f"(`apt-get install -y chromium`; .ci/run does it), set CHROMIUM=/path/to/chromium, "
        f"or opt out explicitly with {OPT_OUT}=1",
        pytrace=False,
    )


@pytest.fixture(scope="session", autouse=True)
def chromium_executable() -> Path:
    """The Chromium, looked for before anything else starts (no devkit for a test that cannot run)."""
    return chromium_path()


@pytest.fixture(scope="package")
def browser(chromium_executable: Path) -> Iterator[Browser]:
    """One headless Chromium for these tests, closed when they are done: while Playwright's
    sync API is open it marks its asyncio loop as the thread's running loop, and every
    later test that calls `asyncio.run()` (the devkit's own tests do) would fail."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watched:
    """A page with what it reported: console errors, uncaught exceptions, dialogs (each
    dismissed at once, so that an `alert` can never block a test)."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "")
        # (no exemption for /favicon.ico: the pages declare their icon inline, so none is asked for)
        self.console_errors.append(f"{message.text} ({source})" if source else message.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        with contextlib.suppress(Error):  # the page went away meanwhile
            dialog.dismiss()

    def problems(self) -> list[str]:
        """Everything that should not happen on a sound page."""
        return [
            *(f"console error: {m}" for m in self.console_errors),
            *(f"uncaught: {m}" for m in self.page_errors),
            *(f"dialog: {m}" for m in self.dialogs),
        ]


#: `open_page(**context_options)` → a Watched page in a fresh context.
PageFactory = Callable[..., Watched]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[PageFactory]:
    """Fresh contexts for this test (`open_page(java_script_enabled=False, viewport=PHONE)`),
    all closed at its end."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Watched:
        context = browser.new_context(**{"viewport": DESKTOP, **options})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        return Watched(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: PageFactory) -> Watched:
    """A watched page in a fresh desktop-sized context with JavaScript on."""
    return open_page()


class _OtherOrigin(http.server.ThreadingHTTPServer):
    """A tiny web server on its own port: another origin for the CORS tests. It serves one
    blank page; the tests run their `fetch` in it."""

    daemon_threads = True

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _BlankPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><html lang=en><meta charset=utf-8><title>another origin</title><p>another origin</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows no server chatter
        return


@dataclass(frozen=True)
class Site:
    """The plugin behind the devkit, and two other local origins, one of them allowed."""

    devkit: RunningDevkit
    allowed_origin: str
    denied_origin: str

    def url(self, hook_id: str, path: str = "") -> str:
        return self.devkit.url(hook_id, path)


@pytest.fixture(scope="session")
def other_origins() -> Iterator[tuple[_OtherOrigin, _OtherOrigin]]:
    servers = (_OtherOrigin(("127.0.0.1", 0), _BlankPage), _OtherOrigin(("127.0.0.1", 0), _BlankPage))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def site(dify_devkit: DevkitFactory, other_origins: tuple[_OtherOrigin, _OtherOrigin]) -> Site:
    """The plugin with the browser tests' endpoint instances (one devkit, local mode: the
    install methods are the endpoint tests' business, the browser's is the pages)."""
    allowed, denied = other_origins
    endpoints = {
        # the gallery with all three apps, calls from `allowed` permitted
        "b": {
            "chat_app": "browser-paced-markdown",
            "workflow_app": "browser-form-workflow",
            "completion_app": "browser-paced-completion",
            "allowed_origins": allowed.origin,
        },
        "echo": {"chat_app": "demo-chat-echo"},
        "hostile": {"chat_app": "browser-hostile-markdown"},
        # a run that ends `failed` (its LLM node fails), and one whose call breaks mid-stream
        "fails": {"workflow_app": "demo-workflow-fails", "completion_app": "demo-completion"},
        "breaks": {"workflow_app": "demo-workflow-breaks"},
        "unset": {},
        "locked": {"completion_app": "browser-paced-completion", "api_key": LOCKED_KEY},
    }
    config = {
        "endpoints": [{"hook_id": h, "settings": s} for h, s in endpoints.items()],
        "apps": APPS,
        "dify": LATER_DIFY,  # completion apps run (Dify 1.13.2: 500, devkit/README.md quirks)
    }
    return Site(dify_devkit(config=config), allowed.origin, denied.origin)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png (for people, not asserted on)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def scrolls_sideways(page: Page) -> bool:
    """Whether the page is wider than its viewport (a phone would scroll it sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
