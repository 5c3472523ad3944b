"""CORS through the devkit: the `allowed_origins` setting on every route, streams and
errors included, and the OPTIONS preflight (the daemon routes OPTIONS like any method)."""

from __future__ import annotations

import httpx
import pytest

from dify_plugin_devkit.testing import RunningDevkit

APP = "https://app.example"
REQUESTS = [
    ("POST", "/workflow", {"json": {"inputs": {"topic": "t"}}}),  # a stream
    ("GET", "/workflow", {"params": {"inputs": '{"topic": "t"}'}}),  # EventSource's stream
    ("POST", "/completion", {"json": {"inputs": {"name": "n"}, "response_mode": "blocking"}}),
    ("GET", "/duck", {"params": {"query": "hi"}}),  # the streamed page
    ("POST", "/duck", {"data": {"query": "hi"}}),
    ("POST", "/workflow", {"json": {"inputs": []}}),  # a 400 error
    ("GET", "/duck", {"params": {"query": ""}}),  # Duck's error page
    ("GET", "/", {}),  # the gallery page
]


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize(("method", "route", "send"), REQUESTS)
def test_an_allowed_origin_gets_allow_origin_and_vary_on_every_response(
    gallery: RunningDevkit, client: httpx.Client, method: str, route: str, send: dict
) -> None:
    response = client.request(method, gallery.url("cors", route), headers={"Origin": APP}, **send)
    assert response.headers["access-control-allow-origin"] == APP
    assert "Origin" in [v.strip() for v in response.headers["vary"].split(",")]


def test_a_trailing_slash_in_the_setting_still_allows_the_origin(gallery: RunningDevkit, client: httpx.Client) -> None:
    origin = "http://localhost:3000"
    response = client.get(
        gallery.url("cors", "/workflow"), params={"inputs": '{"topic": "t"}'}, headers={"Origin": origin}
    )
    assert response.headers["access-control-allow-origin"] == origin


# every kind of response for an origin that is not listed; a stream and an error for an
# endpoint that allows no origin and for a request without Origin
OTHER_ORIGINS = [
    *[("cors", "https://evil.example", *request) for request in REQUESTS],
    *[(hook, origin, *REQUESTS[i]) for hook, origin in [("open", APP), ("cors", None)] for i in (0, 5)],
]


@pytest.mark.parametrize(("hook", "origin", "method", "route", "send"), OTHER_ORIGINS)
def test_any_other_origin_gets_no_cors_header_at_all(
    gallery: RunningDevkit,
    client: httpx.Client,
    method: str,
    route: str,
    send: dict,
    hook: str,
    origin: str | None,
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = client.request(method, gallery.url(hook, route), headers=headers, **send)
    assert cors_headers(response) == {}


@pytest.mark.parametrize("route", ["/workflow", "/completion", "/duck"])
def test_preflight_of_an_allowed_origin_is_answered_without_running_anything(
    gallery: RunningDevkit, client: httpx.Client, route: str
) -> None:
    before = gallery.app_calls()
    response = client.options(
        gallery.url("cors", route),
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "Authorization, Content-Type, Last-Event-ID",
        "access-control-max-age": "600",
    }
    assert response.headers["vary"] == "Origin"
    assert response.content == b""
    assert gallery.app_calls() == before


@pytest.mark.parametrize("route", ["/workflow", "/completion", "/duck"])
@pytest.mark.parametrize(("hook", "origin"), [("cors", "https://evil.example"), ("open", APP)])
def test_preflight_of_another_origin_has_no_cors_header(
    gallery: RunningDevkit, client: httpx.Client, route: str, hook: str, origin: str
) -> None:
    response = client.options(
        gallery.url(hook, route), headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert cors_headers(response) == {}


def test_preflight_needs_no_api_key_but_the_request_still_does(gallery: RunningDevkit, client: httpx.Client) -> None:
    origin = {"Origin": "https://any.example"}
    preflight = client.options(gallery.url("cors-locked", "/workflow"), headers=origin)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    refused = client.post(gallery.url("cors-locked", "/workflow"), json={"inputs": {"topic": "t"}}, headers=origin)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"  # the page can read why
    accepted = client.post(
        gallery.url("cors-locked", "/workflow"),
        json={"inputs": {"topic": "t"}, "response_mode": "blocking"},
        headers={**origin, "Authorization": "Bearer s3cret-key"},
    )
    assert accepted.status_code == 200
    assert accepted.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("method", "route"), [("OPTIONS", "/workflow"), ("OPTIONS", "/duck"), ("POST", "/workflow"), ("GET", "/duck")]
)
def test_an_invalid_allowed_origins_is_the_settings_error_of_every_route(
    gallery: RunningDevkit, client: httpx.Client, method: str, route: str
) -> None:
    response = client.request(method, gallery.url("bad-origins", route), headers={"Origin": APP})
    assert response.status_code == 503
    assert "allowed_origins" in response.text
    assert "bad-origin.test" not in response.text  # names the setting, never its value
    assert cors_headers(response) == {}
    if route != "/duck":
        assert response.json()["error"]["code"] == "app_not_configured"
