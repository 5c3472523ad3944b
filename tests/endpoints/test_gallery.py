"""GET / — the gallery page through the devkit: public URLs from the daemon's
Dify-Hook-Url, curl lines that work as printed, forms built from the app's parameters,
unset apps, the API key, its language. (Running the demos is the browser tests' job.)"""

from __future__ import annotations

import html
import os
import re

import httpx
import pytest

from dify_plugin_devkit.testing import RunningDevkit
from tests.conftest import run_curl_line

KEY = "s3cret-key"
CURL = re.compile(r'<pre id="(\w+)-curl"><code>(.*?)</code></pre>', re.DOTALL)


def gallery_page(gallery: RunningDevkit, client: httpx.Client, hook: str = "open", **kwargs: object) -> httpx.Response:
    return client.get(gallery.url(hook, "/"), **kwargs)  # type: ignore[arg-type]


def curl_lines(page: str) -> dict[str, list[str]]:
    return {route: html.unescape(code).splitlines() for route, code in CURL.findall(page)}


def test_the_page_says_what_the_endpoint_is_and_demos_every_route(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert "This is an endpoint of the “Endpoint Gallery” plugin for Dify" in page.text  # its label, from the manifest
    for route in ("duck", "workflow", "completion"):
        assert f'<section class="card" id="{route}"' in page.text
    assert '<form method="get" action="duck" class="duck-form"' in page.text
    assert 'id="workflow-form"' in page.text
    assert 'id="completion-form"' in page.text


def test_urls_are_the_public_ones_the_daemon_sends_never_the_plugins_host(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    # behind a TLS proxy: the daemon builds Dify-Hook-Url from X-Forwarded-Proto and the Host it got
    page = gallery_page(gallery, client, headers={"X-Forwarded-Proto": "https", "Host": "dify.example"}).text
    assert "<code>https://dify.example/e/open/workflow</code>" in page
    assert "Its address is https://dify.example/e/open/" in page
    assert "127.0.0.1" not in page
    assert all("https://dify.example/e/open/" in line for lines in curl_lines(page).values() for line in lines)


def test_a_hook_url_set_in_front_of_the_daemon_is_used_as_is(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client, headers={"Dify-Hook-Url": "https://public.example/e/open/"}).text
    assert "<code>https://public.example/e/open/duck</code>" in page


@pytest.mark.parametrize("hook_url", ['https://x.example/"><script>alert(1)</script>', "javascript:alert(1)"])
def test_a_hostile_hook_url_is_escaped_or_ignored(gallery: RunningDevkit, client: httpx.Client, hook_url: str) -> None:
    page = gallery_page(gallery, client, headers={"Dify-Hook-Url": hook_url}).text
    assert "<script>alert" not in page
    assert "javascript:" not in page


@pytest.mark.parametrize(("hook", "key"), [("open", None), ("locked", KEY)])
def test_every_curl_line_works_as_printed(
    gallery: RunningDevkit, client: httpx.Client, hook: str, key: str | None
) -> None:
    params = {"key": key} if key else {}
    lines = curl_lines(gallery_page(gallery, client, hook, params=params).text)
    assert set(lines) == {"duck", "workflow", "completion", "v1"}  # v1: the OpenAI-compatible API
    env = {**os.environ, "API_KEY": key or ""}
    for route, route_lines in lines.items():
        for line in route_lines:
            assert ("$API_KEY" in line) == (key is not None)
            done = run_curl_line(line, env)
            assert done.stdout == "200", f"{route}: {line}\n{done.stderr}"


def test_the_page_lists_what_v1_and_mcp_serve_for_these_settings(gallery: RunningDevkit, client: httpx.Client) -> None:
    """The models and tools on the page are the ones /v1/models and tools/list answer."""
    page = gallery_page(gallery, client, "mcp-named").text
    listed = dict(re.findall(r'<section class="card" id="(v1|mcp)".*?<ul class="names">(.*?)</ul>', page))
    names = {part: re.findall(r"<li><code>(.*?)</code>", items) for part, items in listed.items()}
    served = client.get(gallery.url("mcp-named", "/v1/models")).json()
    assert names["v1"] == [model["id"] for model in served["data"]] == ["chat", "workflow"]
    tools = client.post(
        gallery.url("mcp-named", "/mcp"),
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
    )
    assert (
        names["mcp"] == [tool["name"] for tool in tools.json()["result"]["tools"]] == ["echo_chat", "summarise_a_topic"]
    )
    assert "<li><code>echo_chat</code> — Echo (chat)</li>" in page
    assert "<code>http://127.0.0.1:" in page.split('id="mcp"', 1)[1].split("/mcp</code>", 1)[0]


def test_the_workflow_form_matches_the_apps_parameters(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client, "form").text
    form = page.split('id="workflow-form"', 1)[1].split("</form>", 1)[0]
    kinds = re.findall(r'data-var="(\w+)" data-kind="([\w-]+)"', form)
    assert kinds == [
        ("title", "text-input"), ("notes", "paragraph"), ("tone", "select"), ("count", "number"),
        ("urgent", "checkbox"), ("photo", "file"), ("tables", "file-list"),
    ]  # fmt: skip
    assert "Title &lt;img src=x onerror=alert(1)&gt;" in form  # the app's label, as text
    assert "<img" not in form
    assert re.search(r'id="workflow-in-title"[^>]* required maxlength="20"[^>]*value="It&#39;s &#34;quoted&#34;"', form)
    assert '<option value="loud &amp; clear" selected>' in form
    assert re.search(r'id="workflow-in-count"[^>]*value="3"', form)
    assert re.search(r'id="workflow-in-urgent"[^>]* checked>', form)
    assert re.search(r'id="workflow-in-photo"[^>]* accept="[^"]*,image/\*"', form)
    assert re.search(r'id="workflow-in-tables"[^>]* data-max-files="3"[^>]* accept="\.csv,\.tsv" multiple', form)
    assert form.count('class="req"') == 2  # title and tone


def test_loading_the_page_runs_no_app(gallery: RunningDevkit, client: httpx.Client) -> None:
    before = gallery.app_calls()
    assert gallery_page(gallery, client).status_code == 200
    assert gallery.app_calls() == before


def test_routes_without_an_app_are_shown_as_not_configured(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client, "empty").text
    for setting in ("chat_app", "workflow_app", "completion_app"):
        assert f"the workspace owner has not chosen an app in the <code>{setting}</code> setting" in page
    assert "<form" not in page
    assert curl_lines(page) == {}


def test_an_app_that_cannot_be_read_is_shown_as_not_available(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client, "missing").text
    assert page.count("(app_not_found)") == 3
    assert "<form" not in page


@pytest.mark.parametrize(("params", "code"), [({}, "missing_api_key"), ({"key": "wrong-key"}, "invalid_api_key")])
def test_with_an_api_key_the_page_asks_for_it(
    gallery: RunningDevkit, client: httpx.Client, params: dict, code: str
) -> None:
    before = gallery.app_calls()
    page = gallery_page(gallery, client, "locked", params=params)
    assert page.status_code == 401
    assert page.headers["www-authenticate"].startswith("Bearer")
    assert '<input type="password" id="key" name="key"' in page.text
    assert KEY not in page.text
    assert "wrong-key" not in page.text
    assert ("is wrong" in page.text) == (code == "invalid_api_key")
    assert gallery.app_calls() == before


@pytest.mark.parametrize("how", ["query", "bearer"])
def test_the_right_key_opens_the_page(gallery: RunningDevkit, client: httpx.Client, how: str) -> None:
    if how == "query":
        page = gallery_page(gallery, client, "locked", params={"key": KEY})
    else:
        page = gallery_page(gallery, client, "locked", headers={"Authorization": f"Bearer {KEY}"})
    assert page.status_code == 200
    assert '<input type="password" id="api-key"' in page.text
    # a key from the URL fills the field (the page then sends it as Bearer); one from a header is not written back
    assert (f'value="{KEY}"' in page.text) == (how == "query")


def test_the_page_follows_accept_language(gallery: RunningDevkit, client: httpx.Client) -> None:
    zh = gallery_page(gallery, client, "empty", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-Hans">' in zh.text
    assert "未配置" in zh.text
    assert zh.headers["content-language"] == "zh-Hans"
    assert "Accept-Language" in zh.headers["vary"]
    en = gallery_page(gallery, client, "empty", headers={"Accept-Language": "fr, en;q=0.5"})
    assert '<html lang="en">' in en.text
    assert "Not configured" in en.text


def test_its_errors_follow_accept_language_too(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client, "locked", headers={"Accept-Language": "zh-Hans"})
    assert page.status_code == 401
    assert "此端点需要 API 密钥" in page.text
    broken = gallery_page(gallery, client, "bad-keepalive", headers={"Accept-Language": "zh"})
    assert broken.status_code == 503
    assert "keepalive_seconds" in broken.text
    assert "(app_not_configured)" in broken.text


def test_script_and_style_run_only_under_the_pages_nonce(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = gallery_page(gallery, client)
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", page.headers["content-security-policy"])
    assert nonce is not None
    assert re.findall(r"<script(?![^>]*application/json)[^>]*>", page.text) == [f'<script nonce="{nonce[1]}">']
    assert re.findall(r"<style[^>]*>", page.text) == [f'<style nonce="{nonce[1]}">']
    other = gallery_page(gallery, client).headers["content-security-policy"]
    assert nonce[1] not in other  # a new nonce per response
