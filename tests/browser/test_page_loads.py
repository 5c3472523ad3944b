"""Every page loads clean in a real Chromium: no console error, and no /favicon.ico
request (the pages declare their icon inline, so the browser never asks for one and
never logs the 404 it would get).

Chromium fetches a favicon itself, outside the page, so Playwright does not see that
request: the pages are loaded through a small recording proxy in front of the devkit
instead, which sees every request the browser sends to their origin."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LOCKED_KEY, PageFactory, Site

#: Response headers the proxy does not pass on (it sends the body whole, with its own length).
_HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive", "content-encoding"}


class _Recording(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.upstream = upstream  # None: serve a blank page without an icon (the control)
        self.paths: list[str] = []
        self.favicon = threading.Event()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Proxy(http.server.BaseHTTPRequestHandler):
    server: _Recording

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        if self.path.startswith("/favicon.ico"):
            self.server.favicon.set()
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.upstream is None:
            self._send(200, {"Content-Type": "text/html; charset=utf-8"}, b"<!doctype html><title>no icon</title>")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "accept-language")}
        upstream = httpx.get(self.server.upstream + self.path, headers=headers, timeout=60)
        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
        self._send(upstream.status_code, kept, upstream.content)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


def _serving(server: _Recording) -> _Recording:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def proxies(site: Site) -> Iterator[tuple[_Recording, _Recording]]:
    """(the devkit behind a recording proxy, a blank page without an icon on another origin)"""
    servers = (_serving(_Recording(site.devkit.base_url)), _serving(_Recording(None)))
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/e/b/", 200),  # the gallery page with every demo
        ("/e/unset/", 200),  # the gallery page without apps
        ("/e/locked/", 401),  # the gallery's key page
        (f"/e/locked/?key={LOCKED_KEY}", 200),  # the locked gallery opened with its key
        ("/e/echo/duck", 200),  # Duck's form
        ("/e/echo/duck?query=hello", 200),  # Duck's answer
        ("/e/unset/duck?query=hello", 503),  # Duck refused: no chat app is set
    ],
)
def test_a_page_loads_without_a_console_error_or_a_favicon_request(
    proxies: tuple[_Recording, _Recording], open_page: PageFactory, path: str, status: int
) -> None:
    ours, control = proxies
    watched = open_page()
    response = watched.page.goto(ours.origin + path, wait_until="load")
    assert response is not None
    assert response.status == status
    assert ours.paths[0] == path
    # A browser asks for /favicon.ico once a page without an icon has loaded. Load such a
    # page next and wait for *its* request: by then ours would have been asked for too.
    watched.page.context.new_page().goto(control.origin + "/", wait_until="load")
    assert control.favicon.wait(20), "the browser asks for no favicon at all: this test proves nothing"
    assert [p for p in ours.paths if p.startswith("/favicon.ico")] == []
    # Chromium logs every page answered with an error status as such: that one is the
    # status the page means to send, not a fault of the page.
    said = f"Failed to load resource: the server responded with a status of {status} "
    assert [m for m in watched.problems() if status == 200 or said not in m] == []
