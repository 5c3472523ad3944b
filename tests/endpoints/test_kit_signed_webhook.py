"""The kit's additions for authors, end to end: a signed-webhook route built from them.

A small plugin is assembled in a temporary folder from this repository's `main.py`,
icon and `provider/` (the kit, unchanged) plus one route written the way an author
would: a signing secret and a workflow app read from the settings
(`provider.settings.text_setting`/`app_setting`), the timestamped signature checked
over the raw body (`provider.signatures`), required JSON fields
(`provider.parsing.require_fields`), and the blocking run's outputs
(`provider.apps.workflow_outputs`). It runs behind the devkit in both install
methods, so every piece meets the real SDK, the real wire protocol and the devkit's
recorded-Dify app backend (a failing workflow answers 200 with status "failed").
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
import yaml

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit
from provider.signatures import signature_headers
from tests.conftest import ROOT, manifest

SECRET = "whsec-e2e-secret"
ORDER = {"order_id": "A-1", "amount": 12.5}

ROUTE = '''"""POST /orders: a signed webhook that runs a workflow app and answers its outputs."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, http, parsing, signatures
from provider.errors import EndpointError
from provider.settings import app_setting, text_setting


class SignedOrders(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        try:
            # 1. settings
            secret = text_setting(settings, "signing_secret")
            # 2. auth: the signature over the raw body, fresh
            signatures.verify_timestamped_signature(r, secret)
            # 3. parse
            body = parsing.json_body(r, example='{"order_id": "A-1", "amount": 12.5}')
            order = parsing.require_fields(body, {"order_id": str, "amount": (int, float)})
            # 4. the app from the settings
            app_id = app_setting(settings, "orders_app")
            call = apps.AppCall(self.session, kind="workflow", setting="orders_app", app_id=app_id, inputs=order)
            # 5. respond
            return http.json_response({"outputs": apps.workflow_outputs(call)})
        except EndpointError as error:
            return http.json_error(error)
'''

APPS = {
    "apps": [
        {
            "id": "orders-summary",
            "name": "Order summary",
            "mode": "workflow",
            "script": "workflow",
            "answer": "Order {{order_id}} for {{amount}}.",
            "variables": [
                {"name": "order_id", "required": True},
                {"name": "amount", "type": "number", "required": True},
            ],
        },
        {
            "id": "orders-fail",
            "name": "Order summary that fails",
            "mode": "workflow",
            "script": "workflow",
            "answer": "never",
            "fail_after": 4,
            "fail_as": "workflow",
            "fail_message": "sandbox at 10.0.0.7 refused",
        },
    ]
}


def build_plugin(root: Path) -> Path:
    """The smallest plugin an author would write on the kit: one group, one signed route."""
    shutil.copytree(ROOT / "provider", root / "provider", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "_assets", root / "_assets")
    shutil.copy(ROOT / "main.py", root / "main.py")
    (root / "requirements.txt").write_text("dify_plugin>=0.10.0,<0.11\n")
    (root / "endpoints").mkdir()
    (root / "endpoints" / "orders.py").write_text(ROUTE)
    (root / "endpoints" / "orders.yaml").write_text(
        yaml.safe_dump({"path": "/orders", "method": "POST", "extra": {"python": {"source": "endpoints/orders.py"}}})
    )
    (root / "group").mkdir()
    group = {
        "settings": [
            {"name": "signing_secret", "type": "secret-input", "required": True, "label": {"en_US": "Signing secret"}},
            {"name": "orders_app", "type": "app-selector", "scope": "workflow", "required": True,
             "label": {"en_US": "Workflow app"}},
        ],
        "endpoints": ["endpoints/orders.yaml"],
    }  # fmt: skip
    (root / "group" / "orders.yaml").write_text(yaml.safe_dump(group, sort_keys=False))
    plugin = {key: value for key, value in manifest().items() if key != "privacy"}
    plugin |= {
        "name": "signed_orders",
        "label": {"en_US": "Signed orders"},
        "plugins": {"endpoints": ["group/orders.yaml"]},
    }
    plugin["resource"] = {"memory": 268435456, "permission": {"endpoint": {"enabled": True}, "app": {"enabled": True}}}
    (root / "manifest.yaml").write_text(yaml.safe_dump(plugin, sort_keys=False, allow_unicode=True))
    (root / "apps.yaml").write_text(yaml.safe_dump(APPS, sort_keys=False))
    return root


@pytest.fixture(scope="module", params=MODES)
def orders(
    request: pytest.FixtureRequest, dify_devkit: DevkitFactory, tmp_path_factory: pytest.TempPathFactory
) -> RunningDevkit:
    plugin = build_plugin(tmp_path_factory.mktemp(f"signed-orders-{request.param}"))
    config = {
        "apps": ["apps.yaml"],
        "endpoints": [
            {"hook_id": "good", "settings": {"signing_secret": SECRET, "orders_app": "orders-summary"}},
            {"hook_id": "failing", "settings": {"signing_secret": SECRET, "orders_app": "orders-fail"}},
        ],
    }
    return dify_devkit(config=config, mode=request.param, plugin_dir=plugin)


def post(orders: RunningDevkit, hook: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with orders.client(hook) as client:
        return client.post(
            orders.url(hook, "/orders"), content=body, headers={"Content-Type": "application/json", **headers}
        )


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    return signature_headers(secret, body, timestamp=int(time.time()) if timestamp is None else timestamp)


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_signed_order_runs_the_workflow_and_answers_its_outputs(orders: RunningDevkit) -> None:
    body = json.dumps(ORDER).encode()
    calls = orders.app_calls().get("orders-summary", 0)
    response = post(orders, "good", body, signed(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": {"text": "Order A-1 for 12.5."}}
    assert orders.app_calls().get("orders-summary") == calls + 1


def test_a_failed_run_is_a_502_workflow_failed_without_the_apps_error_text(orders: RunningDevkit) -> None:
    body = json.dumps(ORDER).encode()
    response = post(orders, "failing", body, signed(body))
    assert error_of(response) == (502, "workflow_failed")
    assert "10.0.0.7" not in response.text
    orders.wait_for_log("sandbox at 10.0.0.7 refused")  # the plugin log keeps it for the owner


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_timestamp"),
        ({"X-Timestamp": "now"}, "malformed_timestamp"),
        ("stale", "stale_timestamp"),
        ("other-secret", "invalid_signature"),
        ("tampered", "invalid_signature"),
    ],
)
def test_an_unsigned_stale_or_forged_order_is_a_401_without_a_bearer_challenge(
    orders: RunningDevkit, headers: dict[str, str] | str, code: str
) -> None:
    body = json.dumps(ORDER).encode()
    if headers == "stale":
        headers = signed(body, timestamp=int(time.time()) - 3600)
    elif headers == "other-secret":
        headers = signed(body, secret="not-the-secret")
    elif headers == "tampered":
        headers = signed(json.dumps(ORDER | {"amount": 1}).encode())
    assert isinstance(headers, dict)
    calls = orders.app_calls().get("orders-summary", 0)
    response = post(orders, "good", body, headers)
    assert error_of(response) == (401, code)
    assert "www-authenticate" not in response.headers
    assert orders.app_calls().get("orders-summary", 0) == calls  # refused before any app call


def test_a_signed_order_missing_a_field_is_a_400_naming_it(orders: RunningDevkit) -> None:
    body = json.dumps({"order_id": "A-2", "amount": "12"}).encode()
    response = post(orders, "good", body, signed(body))
    assert error_of(response) == (400, "invalid_field")
    assert response.json()["error"]["message"].startswith("`amount` must be a JSON number, not a JSON string")
