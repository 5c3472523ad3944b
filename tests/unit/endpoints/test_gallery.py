"""GalleryEndpoint (`GET /`) called in-process with a fake session."""

from __future__ import annotations

import re
from typing import Any

from werkzeug import Request, Response

from endpoints.gallery import GalleryEndpoint
from tests.unit.fakes import FakeFetchApp, fake_session, request

APPS: dict[str, Any] = {"workflow_app": {"app_id": "wf-app"}, "completion_app": {"app_id": "cp-app"}}
FORM = {"user_input_form": [{"text-input": {"variable": "topic", "label": "Topic", "required": True}}]}


def invoke(r: Request, settings: dict[str, Any], fetch_app: FakeFetchApp | None = None) -> Response:
    return GalleryEndpoint(fake_session(fetch_app=fetch_app))._invoke(r, {}, settings)


def body(response: Response) -> str:
    return response.get_data(as_text=True)


def nonce_of(response: Response) -> str:
    match = re.search(r"script-src 'nonce-([A-Za-z0-9_-]{22})'", response.headers["Content-Security-Policy"])
    assert match is not None
    return match.group(1)


def test_the_page_shows_each_route_with_its_form_or_why_it_has_none() -> None:
    fetch_app = FakeFetchApp(parameters=FORM)
    r = request("GET", "/", headers={"Dify-Hook-Url": "https://dify.example/e/abc/"})
    response = invoke(r, APPS, fetch_app)
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = body(response)
    assert fetch_app.calls == ["wf-app", "cp-app"]
    assert "Not configured: the workspace owner has not chosen an app in the <code>chat_app</code> setting." in page
    assert '<form class="run-form" id="workflow-form" data-route="workflow">' in page
    assert '<form class="run-form" id="completion-form" data-route="completion">' in page
    assert 'data-var="topic" data-kind="text-input" required' in page
    assert "<code>https://dify.example/e/abc/workflow</code>" in page
    assert "curl -N -X POST https://dify.example/e/abc/workflow" in page
    assert "Authorization: Bearer" not in page  # no key set: the curl lines need none


def test_the_page_and_its_headers_share_one_fresh_nonce() -> None:
    first, second = invoke(request(), {}), invoke(request(), {})
    nonce = nonce_of(first)
    assert nonce != nonce_of(second)
    assert f'<script nonce="{nonce}">' in body(first)
    assert f'<style nonce="{nonce}">' in body(first)
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["Content-Language"] == "en"
    assert first.headers["Vary"] == "Accept-Language"


def test_an_app_that_cannot_be_read_is_shown_as_unavailable() -> None:
    fetch_app = FakeFetchApp(error="fetch app failed: data is nil")
    page = body(invoke(request(), APPS, fetch_app))
    assert (
        "Not available: the app set in <code>workflow_app</code> was not found in this workspace; the workspace "
        "owner must choose another app in the endpoint&#39;s settings (app_not_found)"
    ) in page
    assert "<code>completion_app</code> was not found" in page
    assert "<form" not in page
    assert "data is nil" not in page


def test_a_keyed_page_asks_for_the_key_and_opens_with_it_in_the_url() -> None:
    keyed = {**APPS, "api_key": "s3cret"}
    refused = invoke(request(), keyed)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="endpoint_gallery"'
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "This endpoint needs its API key. Enter it to open this page." in body(refused)
    wrong = invoke(request(query_string={"key": "nope"}), keyed)
    assert wrong.status_code == 401
    assert "That API key is wrong." in body(wrong)
    page = body(invoke(request(query_string={"key": "s3cret"}), keyed, FakeFetchApp(parameters=FORM)))
    assert '<input type="password" id="api-key" autocomplete="off" value="s3cret">' in page
    assert "-H &#34;Authorization: Bearer $API_KEY&#34;" in page


def test_a_bearer_key_opens_the_page_without_writing_the_key_into_it() -> None:
    r = request(headers={"Authorization": "Bearer s3cret"})
    response = invoke(r, {"api_key": "s3cret"})
    assert response.status_code == 200
    assert '<input type="password" id="api-key" autocomplete="off" value="">' in body(response)
    assert "s3cret" not in body(response)


def test_invalid_settings_are_a_page_naming_the_setting() -> None:
    response = invoke(request(), {"keepalive_seconds": "soon"})
    assert response.status_code == 503
    assert response.content_type == "text/html; charset=utf-8"
    assert "This endpoint&#39;s settings need fixing by the workspace owner:" in body(response)
    assert "keepalive_seconds" in body(response)
    assert nonce_of(response)


def test_the_page_speaks_the_visitors_language() -> None:
    response = invoke(request(headers={"Accept-Language": "zh-CN,zh;q=0.9"}), {})
    assert response.headers["Content-Language"] == "zh-Hans"
    assert '<html lang="zh-Hans">' in body(response)


def test_an_allowed_origin_gets_the_cors_headers() -> None:
    response = invoke(request(headers={"Origin": "https://app.example"}), {"allowed_origins": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Vary"] == "Accept-Language, Origin"
