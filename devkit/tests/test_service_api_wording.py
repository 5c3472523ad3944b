"""How a real app's connection failures are worded: as the daemon's Go HTTP client words
them, because that is the text plugin code sees inside Dify when Dify's API cannot be
reached (the cases a local replay server cannot produce: DNS, a dial that times out)."""

from __future__ import annotations

import errno
import socket

import httpx
import pytest

from dify_plugin_devkit._apps import AppUnreachableError
from dify_plugin_devkit._apps.service_api import _go_dial_error
from dify_plugin_devkit._backwards import describe_app_error

URL = "https://dify.example.com/v1/chat-messages"


def wrapped(cause: BaseException, kind: type[httpx.TransportError] = httpx.ConnectError) -> httpx.TransportError:
    """An httpx error with `cause` underneath, as httpx and anyio chain them."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise OSError("All connection attempts failed") from inner
    except OSError as outer:
        error = kind(str(outer))
        error.__cause__ = outer
        return error


@pytest.mark.parametrize(
    ("error", "wording"),
    [
        (
            wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
            "dial tcp dify.example.com:443: connect: connection refused",
        ),
        (wrapped(socket.gaierror(-2, "Name or service not known")), "dial tcp: lookup dify.example.com: no such host"),
        (httpx.ConnectTimeout("timed out"), "dial tcp dify.example.com:443: i/o timeout"),
        (
            wrapped(OSError(errno.ENETUNREACH, "Network is unreachable")),
            "dial tcp dify.example.com:443: Network is unreachable",
        ),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "EOF"),
    ],
)
def test_a_connection_failure_is_worded_as_gos_http_client(error: httpx.TransportError, wording: str) -> None:
    assert _go_dial_error(URL, error) == wording


def test_unreachable_before_and_during_the_stream_are_invoke_and_read_failures() -> None:
    before = AppUnreachableError(f'Post "{URL}": dial tcp dify.example.com:443: i/o timeout', mid_stream=False)
    assert describe_app_error(before) == f'invoke app failed: Post "{URL}": dial tcp dify.example.com:443: i/o timeout'
    during = AppUnreachableError("unexpected EOF\nfailed to read system header", mid_stream=True)
    assert describe_app_error(during) == "read app failed: unexpected EOF\nfailed to read system header"
