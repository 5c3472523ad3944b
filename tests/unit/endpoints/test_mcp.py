"""McpEndpoint (`/mcp`) and its preflight called in-process with a fake session."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from dify_plugin.core.runtime import Session
from werkzeug import Response

# the SDK was first imported by conftest.py, with gevent's patching suspended
from endpoints.mcp import McpEndpoint
from endpoints.preflight_mcp import McpPreflightEndpoint
from tests.unit.fakes import FakeAppInterface, FakeFetchApp, FakeFileUpload, fake_session, request

FORM = {
    "user_input_form": [
        {"text-input": {"variable": "topic", "label": "Topic", "required": True, "max_length": 40}},
        {"file": {"variable": "doc", "label": "Document", "required": False}},
    ]
}
SETTINGS: dict[str, Any] = {"workflow_app": {"app_id": "w"}, "chat_app": {"app_id": "c"}}
KEYED = {**SETTINGS, "api_key": "s3cret"}
EVENTS = [
    {"event": "workflow_started", "data": {}},
    {"event": "text_chunk", "data": {"text": "Ducks!"}},
    {"event": "workflow_finished", "data": {"status": "succeeded", "outputs": {"text": "Ducks!"}}},
]
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
BOTH = "application/json, text/event-stream"


def session(**fakes: Any) -> Session:
    fakes.setdefault("workflow", FakeAppInterface(events=EVENTS))
    fakes.setdefault("fetch_app", FakeFetchApp(parameters=FORM))
    return fake_session(**fakes)


def post(body: Any, *, settings: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
         fakes: Session | None = None) -> Response:  # fmt: skip
    data = body if isinstance(body, bytes) else json.dumps(body)
    r = request("POST", "/mcp", data=data, content_type="application/json", headers=headers or {})
    return McpEndpoint(fakes or session())._invoke(r, {}, SETTINGS if settings is None else settings)


def text(response: Response) -> str:
    return b"".join(response.iter_encoded()).decode()


def rpc(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}


def modern_call(name: str, arguments: dict[str, Any], **meta: Any) -> tuple[dict[str, Any], dict[str, str]]:
    body = rpc("tools/call", {"name": name, "arguments": arguments, "_meta": {**META, **meta}})
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name, "Accept": BOTH}
    return body, headers


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_are_405_whatever_the_key(method: str) -> None:
    response = McpEndpoint(session())._invoke(request(method, "/mcp"), {}, KEYED)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, OPTIONS"
    assert json.loads(text(response))["error"]["data"] == {"code": "method_not_allowed"}


@pytest.mark.parametrize(
    ("headers", "code"), [({}, "missing_api_key"), ({"Authorization": "Bearer no"}, "invalid_api_key")]
)
def test_without_the_key_401_and_nothing_runs(headers: dict[str, str], code: str) -> None:
    fetch = FakeFetchApp(parameters=FORM)
    response = post(rpc("tools/list"), settings=KEYED, headers=headers, fakes=session(fetch_app=fetch))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")
    body = json.loads(text(response))
    assert body["error"]["code"] == -32000
    assert body["error"]["data"] == {"code": code}
    assert "s3cret" not in text(response)
    assert fetch.calls == []


def test_with_the_key_the_tools_are_listed() -> None:
    response = post(rpc("tools/list"), settings=KEYED, headers={"Authorization": "Bearer s3cret"})
    assert [tool["name"] for tool in json.loads(text(response))["result"]["tools"]] == ["chat", "run_workflow"]


def test_a_notification_is_acknowledged_with_202() -> None:
    response = post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert (response.status_code, text(response)) == (202, "")


def test_an_accept_naming_neither_json_nor_sse_is_406() -> None:
    response = post(rpc("ping"), headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert json.loads(text(response))["id"] == 1


def test_a_call_with_a_progress_token_streams_sse() -> None:
    body, headers = modern_call("run_workflow", {"topic": "ducks"}, progressToken="p1")
    response = post(body, headers=headers)
    assert response.mimetype == "text/event-stream"
    frames = [json.loads(line[6:]) for line in text(response).splitlines() if line.startswith("data: ")]
    assert [f["params"]["message"] for f in frames[:-1]] == ["Workflow started.", "Ducks!", "Workflow succeeded."]
    assert [f["params"]["progress"] for f in frames[:-1]] == [1, 2, 3]
    assert frames[-1]["id"] == 1
    assert frames[-1]["result"]["structuredContent"] == {"text": "Ducks!"}
    assert frames[-1]["result"]["resultType"] == "complete"


def test_a_call_with_a_progress_token_from_a_json_only_client_is_one_json_response() -> None:
    body, headers = modern_call("run_workflow", {"topic": "ducks"}, progressToken="p1")
    response = post(body, headers={**headers, "Accept": "application/json"})
    assert response.mimetype == "application/json"
    assert json.loads(text(response))["result"]["content"] == [{"type": "text", "text": "Ducks!"}]


def test_a_file_as_base64_is_uploaded_and_passed_to_the_app() -> None:
    workflow, uploads = FakeAppInterface(events=EVENTS), FakeFileUpload()
    document = {"content": base64.b64encode(b"hello").decode(), "filename": "a.txt"}
    body, headers = modern_call("run_workflow", {"topic": "ducks", "doc": document})
    response = post(body, headers=headers, fakes=session(workflow=workflow, files=uploads))
    assert json.loads(text(response))["result"]["isError"] is False
    assert uploads.uploads == [("a.txt", b"hello", "text/plain")]
    sent = workflow.calls[0]["inputs"]
    assert sent["topic"] == "ducks"
    assert sent["doc"]["transfer_method"] == "tool_file"


def test_an_app_that_is_gone_is_left_out_of_the_list_and_its_call_is_a_tool_error() -> None:
    gone = FakeFetchApp(error="fetch app failed: app not found")
    listed = json.loads(text(post(rpc("tools/list"), fakes=session(fetch_app=gone))))
    assert listed["result"]["tools"] == []
    called = json.loads(text(post(rpc("tools/call", {"name": "run_workflow"}), fakes=session(fetch_app=gone))))
    assert called["result"]["isError"] is True
    assert "`workflow_app`" in called["result"]["content"][0]["text"]


def test_a_chat_app_with_a_form_gets_its_inputs_checked_and_passed() -> None:
    chat = FakeAppInterface(events=[{"event": "message", "answer": "ok", "conversation_id": "c1"}])
    refused = post(rpc("tools/call", {"name": "chat", "arguments": {"query": "hi"}}), fakes=session(chat=chat))
    assert json.loads(text(refused))["result"]["content"][0]["text"] == "`topic` (Topic) is required."
    assert chat.calls == []
    arguments = {"query": "hi", "inputs": {"topic": "ducks"}}
    answered = post(rpc("tools/call", {"name": "chat", "arguments": arguments}), fakes=session(chat=chat))
    assert json.loads(text(answered))["result"]["structuredContent"] == {"answer": "ok", "conversation_id": "c1"}
    assert (chat.calls[0]["query"], chat.calls[0]["inputs"]) == ("hi", {"topic": "ducks"})


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({**SETTINGS, "mcp_chat_tool_title": "Run workflow"}, "app_not_configured"),
        ({**SETTINGS, "keepalive_seconds": "soon"}, "app_not_configured"),
    ],
)
def test_a_broken_setting_is_503_naming_it(settings: dict[str, Any], code: str) -> None:
    response = post(rpc("tools/list"), settings=settings)
    assert response.status_code == 503
    assert json.loads(text(response))["error"]["data"] == {"code": code}


@pytest.mark.parametrize(
    ("origin", "hook_url", "status"),
    [
        ("https://evil.example", None, 403),
        ("https://evil.example", "https://dify.example/e/abc/mcp", 403),
        ("https://dify.example", "https://dify.example/e/abc/mcp", 200),
        ("https://app.example", None, 200),
        ("null", None, 403),
    ],
)
def test_a_page_on_an_origin_not_allowed_is_403(origin: str, hook_url: str | None, status: int) -> None:
    """The transport's DNS-rebinding rule: an Origin present and not valid is 403."""
    headers = {"Origin": origin} | ({"Dify-Hook-Url": hook_url} if hook_url else {})
    response = post(rpc("ping"), settings={**SETTINGS, "allowed_origins": "https://app.example"}, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert json.loads(text(response))["error"]["data"] == {"code": "origin_not_allowed"}


def test_responses_carry_cors_headers_for_an_allowed_origin() -> None:
    settings = {**SETTINGS, "allowed_origins": "https://app.example"}
    response = post(rpc("ping"), settings=settings, headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_the_preflight_allows_mcp_headers_for_allowed_origins_only() -> None:
    settings = {"allowed_origins": "https://app.example"}
    asked = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    response = McpPreflightEndpoint(session())._invoke(request("OPTIONS", "/mcp", headers=asked), {}, settings)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    for header in ("Authorization", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Accept"):
        assert header in response.headers["Access-Control-Allow-Headers"]
    other = {**asked, "Origin": "https://evil.example"}
    refused = McpPreflightEndpoint(session())._invoke(request("OPTIONS", "/mcp", headers=other), {}, settings)
    assert "Access-Control-Allow-Headers" not in refused.headers
    assert refused.headers["Allow"] == "POST, OPTIONS"
