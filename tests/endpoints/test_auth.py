"""The optional `api_key` setting: Bearer everywhere, `key` field on Duck only."""

from __future__ import annotations

import httpx
import pytest

from dify_plugin_devkit.testing import RunningDevkit

KEY = "s3cret-key"
ROUTES = [
    ("POST", "/workflow", {"json": {"inputs": {"topic": "t"}, "response_mode": "blocking"}}),
    ("POST", "/completion", {"json": {"inputs": {"name": "n"}, "response_mode": "blocking"}}),
    ("GET", "/duck", {"params": {"query": "hi"}}),
    ("POST", "/duck", {"data": {"query": "hi"}}),
]


@pytest.mark.parametrize(("method", "route", "send"), ROUTES)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_api_key"),
        ("Bearer wrong", "invalid_api_key"),
        (f"Basic {KEY}", "missing_api_key"),
        ("Bearer", "missing_api_key"),
    ],
)
def test_missing_or_wrong_key_is_401_and_invokes_nothing(
    gallery: RunningDevkit,
    client: httpx.Client,
    method: str,
    route: str,
    send: dict,
    authorization: str | None,
    code: str,
) -> None:
    before = gallery.app_calls()
    headers = {"Authorization": authorization} if authorization else {}
    response = client.request(method, gallery.url("locked", route), headers=headers, **send)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert KEY not in response.text
    if route == "/duck":
        assert "text/html" in response.headers["content-type"]
        assert "API key" in response.text
    else:
        assert response.json()["error"]["code"] == code
    assert gallery.app_calls() == before


@pytest.mark.parametrize(("method", "route", "send"), ROUTES)
def test_right_bearer_key_is_accepted(
    gallery: RunningDevkit, client: httpx.Client, method: str, route: str, send: dict
) -> None:
    response = client.request(method, gallery.url("locked", route), headers={"Authorization": f"Bearer {KEY}"}, **send)
    assert response.status_code == 200


def test_duck_takes_the_key_from_the_url_and_carries_it_in_the_follow_up_form(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    page = client.get(gallery.url("locked", "/duck"), params={"query": "hi", "key": KEY})
    assert page.status_code == 200
    assert 'id="answer">Turn 1: hi</div>' in page.text
    assert f'<input type="hidden" name="key" value="{KEY}">' in page.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_duck_never_writes_a_wrong_key_back_into_its_page(
    gallery: RunningDevkit, client: httpx.Client, method: str
) -> None:
    wrong = "wr0ng-k3y-never-echoed"
    fields = {"query": "hi", "key": wrong}
    send = {"params": fields} if method == "GET" else {"data": fields}
    page = client.request(method, gallery.url("locked", "/duck"), **send)
    assert page.status_code == 401
    assert "The API key is wrong" in page.text
    assert wrong not in page.text
    assert 'name="key"' not in page.text


@pytest.mark.parametrize("route", ["/workflow", "/completion"])
def test_runners_refuse_a_key_in_the_url_of_a_post(gallery: RunningDevkit, client: httpx.Client, route: str) -> None:
    """A key in a URL ends up in logs and histories: only Duck, opened in browsers, takes one."""
    before = gallery.app_calls()
    response = client.post(
        gallery.url("locked", route), params={"key": KEY}, json={"inputs": {"topic": "t", "name": "n"}}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    assert gallery.app_calls() == before


def test_duck_takes_the_key_from_the_form(gallery: RunningDevkit, client: httpx.Client) -> None:
    page = client.post(gallery.url("locked", "/duck"), data={"query": "hi", "key": KEY})
    assert page.status_code == 200


def test_without_an_api_key_setting_no_key_is_needed(gallery: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(
        gallery.url("open", "/workflow"), json={"inputs": {"topic": "t"}, "response_mode": "blocking"}
    )
    assert response.status_code == 200
