"""The request the plugin gets and the requests the daemon routes, as a real daemon.

Request copy: internal/service/endpoint.go copyRequest, written by Go's
`Request.Write` (net/http transfer.go decides the body framing). Routing:
internal/server/http_server.go (six methods under /e/:hook_id/*path, gin's NoRoute
for the rest) and server/endpoint.go + service.Endpoint (unknown vs disabled hook).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit._config import load_config
from dify_plugin_devkit._declarations import load_plugin
from dify_plugin_devkit._errors import ConfigError
from dify_plugin_devkit._request_codec import IncomingRequest, serialize_request
from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

CONFIG = {
    "endpoints": [
        {"hook_id": "probe", "settings": {"greeting": "hello"}},
        {"hook_id": "off", "settings": {"greeting": "hello"}, "enabled": False},
    ]
}
TEN_MIB = 10 * 1024 * 1024
ROUTE_NOT_FOUND = b'{"code":"not_found","message":"route not found"}'
DISABLED = (
    b'{"code":-404,"message":"{\\"message\\":\\"endpoint not found\\",'
    b'\\"error_type\\":\\"PluginDaemonNotFoundError\\",\\"args\\":null}","data":null}'
)
UNKNOWN = (
    b'{"code":-400,"message":"{\\"message\\":\\"endpoint not found\\",'
    b'\\"error_type\\":\\"PluginDaemonBadRequestError\\",\\"args\\":null}","data":null}'
)


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def probe(mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, workdir=tmp_path_factory.mktemp(mode), mode=mode)
    yield devkit
    devkit.stop()


def framing(response: httpx.Response) -> dict:
    """What the probe's /framing route saw (its X-Framing header, so HEAD works too)."""
    assert response.status_code == 200, response.text
    return json.loads(response.headers["X-Framing"])


def copy_of(method: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    incoming = IncomingRequest(method, "/x", "", headers or [], "dify.local:5002", body)
    return serialize_request(incoming, "hook")


# -- the copy, byte for byte --------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_empty_post_and_put_are_written_chunked_with_a_terminating_chunk(method: str) -> None:
    raw = copy_of(method)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[:4] == [
        f"{method} /x HTTP/1.1".encode(),
        b"Host: dify.local:5002",
        b"User-Agent: Go-http-client/1.1",
        b"Transfer-Encoding: chunked",
    ]
    assert not any(line.lower().startswith(b"content-length") for line in lines)
    assert body == b"0\r\n\r\n"


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_bodyless_methods_without_body_carry_neither_length_nor_chunking(method: str) -> None:
    raw = copy_of(method)
    assert b"Content-Length" not in raw
    assert b"Transfer-Encoding" not in raw
    assert raw.endswith(b"\r\n\r\n")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "OPTIONS"])
def test_a_body_is_sent_with_its_content_length_whatever_the_method(method: str) -> None:
    raw = copy_of(method, b"abc", [("Transfer-Encoding", "chunked")])
    assert b"\r\nContent-Length: 3\r\n" in raw
    assert b"Transfer-Encoding" not in raw
    assert raw.endswith(b"\r\n\r\nabc")


def test_host_comes_from_x_original_host_else_from_the_request() -> None:
    assert b"\r\nHost: public.example\r\n" in copy_of("GET", headers=[("X-Original-Host", "public.example")])
    # an empty X-Original-Host counts as absent (Header.Get), as the server fills it in
    assert b"\r\nHost: dify.local:5002\r\n" in copy_of("GET", headers=[("X-Original-Host", "")])
    assert b"X-Original-Host" not in copy_of("GET", headers=[("X-Original-Host", "public.example")])


def test_hook_url_scheme_follows_x_forwarded_proto() -> None:
    https = copy_of("GET", headers=[("X-Forwarded-Proto", "https"), ("X-Original-Host", "pub.example")])
    assert b"\r\nDify-Hook-Url: https://pub.example/e/hook/x\r\n" in https
    assert b"\r\nDify-Hook-Url: http://dify.local:5002/e/hook/x\r\n" in copy_of("GET")


def test_hook_url_sent_by_the_caller_is_kept() -> None:
    raw = copy_of("GET", headers=[("Dify-Hook-Url", "https://proxy.example/custom")])
    assert b"\r\nDify-Hook-Url: https://proxy.example/custom\r\n" in raw
    assert raw.count(b"Dify-Hook-Url") == 1


# -- what the plugin sees, through the devkit -----------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_plugin_reads_an_empty_post_or_put_as_the_bytes_of_a_terminating_chunk(
    probe: RunningDevkit, client: httpx.Client, method: str
) -> None:
    seen = framing(client.request(method, probe.url("probe", "/framing")))
    # the SDK does not de-chunk: the body is the chunk terminator, counted as a length
    assert seen == {
        "method": method,
        "content_length": "5",
        "transfer_encoding": None,
        "body": "0\r\n\r\n",
        "body_length": 5,
    }


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_plugin_reads_no_body_on_an_empty_get_head_delete_or_options(
    probe: RunningDevkit, client: httpx.Client, method: str
) -> None:
    response = client.request(method, probe.url("probe", "/framing"))
    seen = framing(response)
    assert seen["method"] == method
    assert (seen["content_length"], seen["transfer_encoding"], seen["body"]) == (None, None, "")
    if method == "HEAD":
        assert response.content == b""  # Go's server eats body writes for HEAD


def test_body_over_10_mib_is_cut_silently_at_10_mib(probe: RunningDevkit, client: httpx.Client, mode: str) -> None:
    for size in (TEN_MIB, TEN_MIB + 4096):
        response = client.post(probe.url("probe", "/framing"), content=b"x" * size)
        if mode == "local":
            seen = framing(response)
            assert (seen["body_length"], seen["content_length"]) == (TEN_MIB, str(TEN_MIB))
        else:  # hex-encoded, 10 MiB never fits a serverless request: the size it reports is the cut one
            assert response.status_code == 500
            message = json.loads(response.json()["message"])["message"]
            payload = int(message.split("payload_bytes=")[1].split()[0])
            assert 2 * TEN_MIB < payload < 2 * TEN_MIB + 4096


def test_hook_url_and_host_reach_the_plugin_as_the_daemon_sets_them(probe: RunningDevkit, client: httpx.Client) -> None:
    proxied = client.get(
        probe.url("probe", "/echo/x"), headers={"X-Original-Host": "dify.example.org", "X-Forwarded-Proto": "https"}
    )
    headers = dict(proxied.json()["headers"])
    assert headers["Host"] == "dify.example.org"
    assert headers["Dify-Hook-Url"] == "https://dify.example.org/e/probe/echo/x"
    kept = client.get(probe.url("probe", "/echo/x"), headers={"Dify-Hook-Url": "https://mine.example/hook"})
    assert dict(kept.json()["headers"])["Dify-Hook-Url"] == "https://mine.example/hook"


# -- routing ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"])
def test_the_six_routed_methods_reach_the_plugin(probe: RunningDevkit, client: httpx.Client, method: str) -> None:
    assert framing(client.request(method, probe.url("probe", "/framing")))["method"] == method


@pytest.mark.parametrize("method", ["PATCH", "PROPFIND", "TRACE"])
def test_other_methods_get_the_daemons_route_not_found(probe: RunningDevkit, client: httpx.Client, method: str) -> None:
    response = client.request(method, probe.url("probe", "/framing"))
    assert response.status_code == 404
    assert response.content == ROUTE_NOT_FOUND
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(("method", "status"), [("GET", 301), ("POST", 307), ("HEAD", 307), ("OPTIONS", 307)])
def test_the_hook_url_without_its_slash_is_redirected_to_it_as_gin_does(
    probe: RunningDevkit, client: httpx.Client, method: str, status: int
) -> None:
    response = client.request(method, f"{probe.base_url}/e/probe?a=1&b=%20")
    assert response.status_code == status
    assert response.headers["Location"] == "/e/probe/?a=1&b=%20"
    if method == "GET":
        assert response.text == '<a href="/e/probe/?a=1&amp;b=%20">Moved Permanently</a>.\n\n'


def test_paths_the_daemon_does_not_serve_get_route_not_found(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(f"{probe.base_url}/nowhere")
    assert (response.status_code, response.content) == (404, ROUTE_NOT_FOUND)


def test_disabled_endpoint_answers_404_not_found_error(probe: RunningDevkit, client: httpx.Client) -> None:
    before = probe.stats()
    response = client.post(probe.url("off", "/app"), json={})
    assert (response.status_code, response.content) == (404, DISABLED)
    # a PATCH never gets that far: gin has no route for it
    assert client.patch(probe.url("off", "/framing")).content == ROUTE_NOT_FOUND
    assert probe.stats()["app_calls"] == before["app_calls"]


def test_unknown_hook_answers_404_bad_request_error(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(probe.url("nope", "/framing"))
    assert (response.status_code, response.content) == (404, UNKNOWN)


# -- configuration ---------------------------------------------------------------------
def test_enabled_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "devkit.yaml"
    path.write_text("endpoints:\n  - hook_id: a\n    settings: {greeting: hi}\n    enabled: 'no'\n")
    with pytest.raises(ConfigError, match="enabled: expected true or false"):
        load_config(path, load_plugin(PROBE_PLUGIN).settings)


def test_oversize_body_reject_is_an_option_answering_413(tmp_path: Path, client: httpx.Client) -> None:
    config = {**CONFIG, "daemon": {"oversize_body": "reject", "max_body_bytes": 1000}}
    devkit = start_devkit(PROBE_PLUGIN, config, workdir=tmp_path)
    try:
        response = client.post(devkit.url("probe", "/framing"), content=b"y" * 1001)
        assert response.status_code == 413
        assert response.json()["code"] == -413
        assert framing(client.post(devkit.url("probe", "/framing"), content=b"y" * 1000))["body_length"] == 1000
    finally:
        devkit.stop()


def logged(devkit: RunningDevkit, needle: str) -> list[str]:
    """The request-log lines so far once `needle` is logged (a line is written as its
    response ends, so it may come a moment after the client read it)."""
    return [line for line in devkit.wait_for_log(needle).splitlines() if line.startswith("[http] ")]


def test_every_request_is_logged_with_status_time_and_app_calls_but_not_polls(
    probe: RunningDevkit, client: httpx.Client
) -> None:
    assert client.get(f"{probe.base_url}/health/check").status_code == 200
    assert client.get(f"{probe.base_url}/nowhere-logged").status_code == 404
    ask = {"kind": "chat", "app_id": "demo-chat-echo", "query": "hi", "inputs": {}, "response_mode": "blocking"}
    assert client.post(probe.url("probe", "/app"), json=ask).status_code == 200

    lines = logged(probe, "POST /e/probe/app ")
    assert re.search(r"^\[http\] GET /nowhere-logged 404 \d+ ms$", "\n".join(lines), re.MULTILINE), lines
    app = [line for line in lines if "POST /e/probe/app " in line]
    assert app, lines
    assert re.fullmatch(r"\[http\] POST /e/probe/app 200 \d+ ms \(1 app call\)", app[-1])
    assert not [line for line in lines if "/health/check" in line or "/backwards-invocation/" in line]


def test_the_root_answers_a_page_listing_the_endpoints(probe: RunningDevkit, client: httpx.Client) -> None:
    response = client.get(f"{probe.base_url}/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f'<a href="{probe.base_url}/e/probe/drip">' in response.text
    assert "(hook id <code>off</code>, disabled: answers 404)" in " ".join(response.text.split())
