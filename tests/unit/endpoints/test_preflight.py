"""PreflightEndpoint (`OPTIONS /duck`, `/workflow`, `/completion`) called in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug import Response

from endpoints.preflight import PreflightEndpoint
from tests.unit.fakes import fake_session, request

ALLOWED: dict[str, Any] = {"allowed_origins": "https://app.example", "api_key": "s3cret"}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Origin": "https://app.example",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID",
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}


def preflight(settings: dict[str, Any], origin: str | None, path: str = "/workflow") -> Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"} if origin else {}
    return PreflightEndpoint(fake_session())._invoke(request("OPTIONS", path, headers=headers), {}, settings)


def cors_headers(response: Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith(("Access-Control-", "Vary"))}


@pytest.mark.parametrize("path", ["/duck", "/workflow", "/completion"])
def test_an_allowed_origin_gets_the_preflight_headers_without_an_api_key(path: str) -> None:
    response = preflight(ALLOWED, "https://app.example", path)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert cors_headers(response) == PREFLIGHT_HEADERS
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


@pytest.mark.parametrize(
    ("settings", "origin"),
    [
        (ALLOWED, "https://evil.example"),
        (ALLOWED, None),
        ({}, "https://app.example"),  # no allowed_origins: no origin is allowed
    ],
)
def test_any_other_request_gets_allow_and_no_cors_header(settings: dict[str, Any], origin: str | None) -> None:
    response = preflight(settings, origin)
    assert response.status_code == 204
    assert cors_headers(response) == {}
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


def test_a_star_setting_answers_every_origin_with_the_wildcard() -> None:
    response = preflight({"allowed_origins": "*"}, "https://any.example")
    assert cors_headers(response) == {**PREFLIGHT_HEADERS, "Access-Control-Allow-Origin": "*"}


def test_an_invalid_setting_is_reported_as_json_not_ignored() -> None:
    response = preflight({"allowed_origins": "app.example"}, "https://app.example")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    error = json.loads(response.get_data())["error"]
    assert error["code"] == "app_not_configured"
    assert "`allowed_origins` setting" in error["message"]
    assert cors_headers(response) == {}
    assert response.headers["Cache-Control"] == "no-store"
