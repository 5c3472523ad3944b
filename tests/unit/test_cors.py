"""provider.cors: the `allowed_origins` setting, the headers it earns, the preflight."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from werkzeug import Request, Response
from werkzeug.test import EnvironBuilder

from provider import cors
from provider.errors import AppNotConfigured
from provider.settings import EndpointSettings


def request(method: str = "GET", origin: str | None = None) -> Request:
    headers = [("Origin", origin)] if origin else []
    return Request(EnvironBuilder(method=method, headers=headers).get_environ())


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("https://app.example", {"https://app.example"}),
        ("https://App.Example/, http://localhost:3000", {"https://app.example", "http://localhost:3000"}),
        ("https://app.example:443, http://a.example:80", {"https://app.example", "http://a.example"}),
        ("https://app.example:8443", {"https://app.example:8443"}),
        ("http://[::1]:8080", {"http://[::1]:8080"}),
    ],
)
def test_origins_are_read_as_browsers_write_them(raw: str, origins: set[str]) -> None:
    assert cors.parse_allowed_origins(raw).origins == origins


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_empty_setting_allows_no_origin(raw: str | None) -> None:
    allowed = cors.parse_allowed_origins(raw)
    assert allowed == cors.NO_ORIGIN
    assert not allowed.allows("https://app.example")


@pytest.mark.parametrize(
    "raw",
    [
        "app.example",
        "ftp://app.example",
        "https://app.example/path",
        "https://app.example?x=1",
        "https://user@app.example",
        "https://app.example:99999",
        "https://app.example:port",
        "https://app.example,,http://b.example",
        "*, https://app.example",
        "https://",
        "https://app .example",
    ],
)
def test_anything_else_is_the_settings_error_naming_the_setting_not_the_value(raw: str) -> None:
    with pytest.raises(AppNotConfigured, match="`allowed_origins` setting") as caught:
        cors.parse_allowed_origins(raw)
    assert caught.value.code == "app_not_configured"
    assert caught.value.status == 503
    assert "entry" in caught.value.message


def test_endpoint_settings_read_allowed_origins_and_report_an_invalid_one() -> None:
    assert EndpointSettings.parse({}).allowed_origins == cors.NO_ORIGIN
    config = EndpointSettings.parse({"allowed_origins": "https://app.example"})
    assert config.allowed_origins.allows("https://app.example")
    with pytest.raises(AppNotConfigured, match="allowed_origins"):
        EndpointSettings.parse({"allowed_origins": "nope"})


def test_allowed_origin_is_echoed_with_vary_and_others_get_nothing() -> None:
    allowed = cors.parse_allowed_origins("https://app.example")
    assert allowed.headers("https://app.example") == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
    }
    assert allowed.headers("https://APP.example") == {
        "Access-Control-Allow-Origin": "https://APP.example",
        "Vary": "Origin",
    }
    assert allowed.headers("https://evil.example") == {}
    assert allowed.headers("https://app.example.evil") == {}
    assert allowed.headers("null") == {}
    assert allowed.headers(None) == {}


def test_star_allows_every_origin_with_a_wildcard() -> None:
    allowed = cors.parse_allowed_origins(" * ")
    assert allowed.headers("https://any.example") == {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}
    assert allowed.headers(None) == {}


def test_vary_is_added_to_not_replaced() -> None:
    response = Response("x", headers={"Vary": "Accept-Language"})
    cors.add_headers(response, {"Vary": "Origin", "Access-Control-Allow-Origin": "https://a.example"})
    assert response.headers["Vary"] == "Accept-Language, Origin"
    cors.add_headers(response, {"Vary": "origin"})
    assert response.headers["Vary"] == "Accept-Language, Origin"
    assert cors.add_headers(Response("x"), {"Vary": "Origin"}).headers["Vary"] == "Origin"


class _Endpoint:
    def __init__(self, response: Response) -> None:
        self.response = response

    @cors.allow_origins
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        return self.response


@pytest.mark.parametrize("status", [200, 401, 503])
def test_decorated_invoke_adds_the_headers_to_every_response(status: int) -> None:
    settings = {"allowed_origins": "https://app.example"}
    response = _Endpoint(Response("x", status=status))._invoke(request(origin="https://app.example"), {}, settings)
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = _Endpoint(Response("x", status=status))._invoke(request(origin="https://b.example"), {}, settings)
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Vary" not in other.headers


def test_decorated_invoke_allows_nothing_when_the_setting_is_invalid() -> None:
    response = _Endpoint(Response("x"))._invoke(request(origin="https://a.example"), {}, {"allowed_origins": "x"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_of_an_allowed_origin_says_methods_headers_and_max_age() -> None:
    allowed = cors.parse_allowed_origins("https://app.example")
    response = cors.preflight(request("OPTIONS", "https://app.example"), allowed)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, Last-Event-ID"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Vary"] == "Origin"
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


def test_preflight_allows_the_headers_a_route_adds_after_the_kits_own() -> None:
    allowed = cors.parse_allowed_origins("https://app.example")
    asked = request("OPTIONS", "https://app.example")
    response = cors.preflight(asked, allowed, methods=("POST",), headers=("Accept", "Mcp-Method"))
    expected = "Authorization, Content-Type, Last-Event-ID, Accept, Mcp-Method"
    assert response.headers["Access-Control-Allow-Headers"] == expected
    refused = cors.preflight(request("OPTIONS", "https://evil.example"), allowed, headers=("Accept",))
    assert "Access-Control-Allow-Headers" not in refused.headers


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_preflight_of_any_other_origin_has_no_cors_header(origin: str | None) -> None:
    allowed = cors.parse_allowed_origins("https://app.example")
    response = cors.preflight(request("OPTIONS", origin), allowed)
    assert response.status_code == 204
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


def test_an_empty_origin_is_not_allowed() -> None:
    allowed = cors.parse_allowed_origins("https://app.example")
    assert not allowed.allows("")
    assert allowed.headers("") == {}


@pytest.mark.parametrize("raw", ["https:", "https://:8443", "http://:80"])
def test_an_origin_without_a_host_is_the_settings_error(raw: str) -> None:
    with pytest.raises(AppNotConfigured):
        cors.parse_allowed_origins(raw)


def test_the_settings_error_counts_entries_from_one() -> None:
    with pytest.raises(AppNotConfigured) as caught:
        cors.parse_allowed_origins("https://a.example, nope, also-nope")
    assert caught.value.message == (
        "The endpoint's `allowed_origins` setting must be `*` or comma-separated origins like "
        "`https://app.example.com, http://localhost:3000` (scheme and host, an optional port, no path); "
        "entry 2 is not an origin."
    )


def test_vary_without_spaces_is_read_as_a_list() -> None:
    response = Response("x", headers={"Vary": "Accept-Language,Origin"})
    cors.add_headers(response, {"Vary": "Origin"})
    assert response.headers.get_all("Vary") == ["Accept-Language,Origin"]


def test_headers_go_out_with_their_canonical_names() -> None:
    """Names are case-insensitive to HTTP, but these are the exact lines a client sees."""
    allowed = cors.parse_allowed_origins("https://app.example")
    response = cors.preflight(request("OPTIONS", "https://app.example"), allowed)
    assert [(name, value) for name, value in response.headers.to_wsgi_list() if name != "Content-Type"] == [
        ("Allow", "GET, POST, OPTIONS"),
        ("Access-Control-Allow-Origin", "https://app.example"),
        ("Vary", "Origin"),
        ("Access-Control-Allow-Methods", "GET, POST"),
        ("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"),
        ("Access-Control-Max-Age", "600"),
    ]
    added = cors.add_headers(Response("x", headers={"Vary": "Accept-Language"}), {"Vary": "Origin"})
    assert [(name, value) for name, value in added.headers.to_wsgi_list() if name.lower() == "vary"] == [
        ("Vary", "Accept-Language, Origin")
    ]


def test_preflight_lists_the_methods_it_is_given() -> None:
    allowed = cors.parse_allowed_origins("*")
    response = cors.preflight(request("OPTIONS", "https://a.example"), allowed, methods=("GET",))
    assert response.headers["Allow"] == "GET, OPTIONS"
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
