"""POST /mcp end to end: the official MCP Python SDK (`mcp`) as the client against the
devkit, in both install methods; raw HTTP requests in the 2026-07-28 form (no
initialize, `_meta` envelope and headers) and in the 2025-06-18 form; malformed
JSON-RPC. Every answer is a JSON-RPC message with the specification's code and a 4xx
status for a client's mistake, never a 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from dify_plugin_devkit.testing import RunningDevkit

WORKFLOW_ANSWER = "Summary of ducks: ducks are waterfowl that stream answers one word at a time."
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
ACCEPT = "application/json, text/event-stream"


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Accept": ACCEPT}
    return headers | ({"Mcp-Name": name} if name else {})


def with_client[T](
    url: str, work: Callable[[Client], Awaitable[T]], *, mode: str = "auto", key: str | None = None
) -> T:
    """Run `work` with a connected SDK client (its own HTTP client, the key as Bearer)."""

    async def session() -> T:
        headers = {"Authorization": f"Bearer {key}"} if key else None
        async with (
            create_mcp_http_client(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            return await work(client)

    return asyncio.run(session())


def mcp_error(error: BaseException) -> MCPError:
    """The MCPError inside what the SDK raised (its task groups wrap it in ExceptionGroups)."""
    if isinstance(error, MCPError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            try:
                return mcp_error(inner)
            except LookupError:
                continue
    raise LookupError(f"no MCPError in {error!r}")


# --- the SDK client ------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_sdk_connects_lists_the_apps_as_tools_and_calls_each(gallery: RunningDevkit, mode: str, version: str) -> None:
    async def work(client: Client) -> tuple[str, list[Any], list[Any]]:
        listed = await client.list_tools()
        results = [
            await client.call_tool("chat", {"query": "Hello duck"}),
            await client.call_tool("run_workflow", {"topic": "ducks"}),
            await client.call_tool("complete_text", {"name": "Ada"}),
        ]
        return client.protocol_version, listed.tools, results

    protocol, listed, (chat, workflow, completion) = with_client(gallery.url("open", "/mcp"), work, mode=mode)
    assert protocol == version
    assert [tool.name for tool in listed] == ["chat", "run_workflow", "complete_text"]
    assert listed[1].input_schema["required"] == ["topic"]
    assert not chat.is_error
    assert chat.content[0].text == "Turn 1: Hello duck"
    conversation = chat.structured_content["conversation_id"]
    assert chat.content[1].text == f"conversation_id: {conversation}"
    assert not workflow.is_error
    assert workflow.content[0].text == WORKFLOW_ANSWER
    assert workflow.structured_content == {"text": WORKFLOW_ANSWER}
    assert completion.content[0].text == "Dear Ada, thank you for trying the Endpoint Gallery."


def test_sdk_continues_a_conversation_with_its_conversation_id(gallery: RunningDevkit) -> None:
    async def work(client: Client) -> str:
        first = await client.call_tool("chat", {"query": "one"})
        again = {"query": "two", "conversation_id": first.structured_content["conversation_id"]}
        return (await client.call_tool("chat", again)).content[0].text

    assert with_client(gallery.url("open", "/mcp"), work) == "Turn 2: two"


def test_the_workflow_tools_schema_is_the_apps_form(gallery: RunningDevkit) -> None:
    """gallery-form-workflow (tests/fixtures/gallery_apps.yaml): every input type."""

    async def work(client: Client) -> dict[str, Any]:
        return (await client.list_tools()).tools[0].input_schema

    schema = with_client(gallery.url("form", "/mcp"), work)
    properties = schema["properties"]
    assert list(properties) == ["title", "notes", "tone", "count", "urgent", "photo", "tables"]
    assert schema["required"] == ["title", "tone"]
    assert schema["additionalProperties"] is False
    assert properties["title"] == {
        "type": "string",
        "maxLength": 20,
        "description": "Title <img src=x onerror=alert(1)>",
        "default": 'It\'s "quoted"',
    }
    assert properties["notes"] == {"type": "string", "maxLength": 200, "description": "notes"}
    assert properties["tone"] == {
        "type": "string",
        "enum": ["calm", "loud & clear"],
        "description": "tone",
        "default": "loud & clear",
    }
    assert properties["count"] == {"type": "number", "description": "count", "default": 3}
    assert properties["urgent"] == {"type": "boolean", "description": "urgent", "default": True}
    assert properties["photo"]["type"] == "object"
    assert "image/*" in properties["photo"]["description"]
    assert properties["tables"]["type"] == "array"
    assert properties["tables"]["maxItems"] == 3
    assert ".csv,.tsv" in properties["tables"]["items"]["description"]


def test_sdk_receives_progress_for_a_workflow_then_its_result(gallery: RunningDevkit) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def work(client: Client) -> Any:
        return await client.call_tool("run_workflow", {"topic": "ducks"}, progress_callback=on_progress)

    result = with_client(gallery.url("open", "/mcp"), work)
    assert result.structured_content == {"text": WORKFLOW_ANSWER}
    messages = [message for _, message in progress]
    assert messages[:2] == ["Workflow started.", "Node started: Start"]
    assert "Node finished: LLM (succeeded)" in messages
    assert messages[-1] == "Workflow succeeded."
    assert "".join(m for m in messages if m and not m.startswith(("Workflow", "Node"))) == WORKFLOW_ANSWER
    assert [value for value, _ in progress] == list(range(1, len(progress) + 1))


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("run_workflow", {}, "The app failed while answering."),
        ("chat", {"query": "hi"}, "The app failed: The model provider returned an error (simulated)."),
    ],
)
def test_a_failing_app_is_a_tool_error(gallery: RunningDevkit, tool: str, arguments: dict, says: str) -> None:
    async def work(client: Client) -> Any:
        return await client.call_tool(tool, arguments)

    result = with_client(gallery.url("failing", "/mcp"), work)
    assert result.is_error
    assert result.content[0].text == says


def test_owner_chosen_titles_and_a_failed_workflow_run(gallery: RunningDevkit) -> None:
    """mcp-named (tests/fixtures/gallery.yaml): titles (and the names made from them) and a description from the
    settings; demo-workflow-fails ends its run `failed` (no error event), a tool error."""

    async def work(client: Client) -> tuple[list[Any], Any]:
        listed = (await client.list_tools()).tools
        return listed, await client.call_tool("summarise_a_topic", {})

    listed, failed = with_client(gallery.url("mcp-named", "/mcp"), work)
    assert [(tool.name, tool.title) for tool in listed] == [
        ("echo_chat", "Echo (chat)"),
        ("summarise_a_topic", "Summarise a topic"),
    ]
    assert listed[1].description == "Summarises a topic in one line."
    assert failed.is_error
    assert failed.content[0].text == (
        "The workflow run ended failed: The model provider returned an error (simulated)."
    )


def test_a_chat_apps_own_form_is_the_chat_tools_inputs(gallery: RunningDevkit) -> None:
    async def work(client: Client) -> tuple[dict[str, Any], Any, Any]:
        schema = (await client.list_tools()).tools[0].input_schema
        missing = await client.call_tool("chat", {"query": "hi"})
        return schema, missing, await client.call_tool("chat", {"query": "hi", "inputs": {"name": "Ada"}})

    schema, missing, answered = with_client(gallery.url("mcp-chat-form", "/mcp"), work)
    assert schema["required"] == ["query", "inputs"]
    assert schema["properties"]["inputs"]["properties"] == {
        "name": {"type": "string", "maxLength": 20, "description": "name"}
    }
    assert missing.is_error
    assert missing.content[0].text == "`name` (name) is required."
    assert not answered.is_error
    assert answered.content[0].text == "Hello Ada."


def test_refused_arguments_are_a_tool_error_and_the_app_never_runs(gallery: RunningDevkit) -> None:
    before = gallery.app_calls().get("gallery-form-workflow", 0)

    async def work(client: Client) -> list[Any]:
        return [
            await client.call_tool("run_workflow", {"title": "x" * 21, "tone": "calm"}),
            await client.call_tool("run_workflow", {"title": "x", "tone": "shouting"}),
            await client.call_tool("run_workflow", {"tone": "calm"}),
            await client.call_tool("run_workflow", {"title": "x", "tone": "calm", "count": "three"}),
            await client.call_tool("run_workflow", {"title": "x", "tone": "calm", "mood": "happy"}),
        ]

    results = with_client(gallery.url("form", "/mcp"), work)
    assert all(result.is_error for result in results)
    assert [result.content[0].text for result in results] == [
        "`title` is too long (21 characters; at most 20).",
        "`tone` must be one of: calm, loud & clear.",
        "`title` (Title <img src=x onerror=alert(1)>) is required.",
        "`count` must be a number.",
        "Unknown argument `mood`: this tool takes `title`, `notes`, `tone`, `count`, `urgent`, `photo`, `tables`.",
    ]
    assert gallery.app_calls().get("gallery-form-workflow", 0) == before


def test_files_given_as_base64_are_uploaded_and_reach_the_app(gallery: RunningDevkit) -> None:
    def encoded(data: bytes) -> str:
        return base64.b64encode(data).decode()

    async def work(client: Client) -> list[Any]:
        document = {"content": encoded(b"hello world"), "filename": "notes.txt"}
        attachments = [
            {"content": encoded(b"<svg/>"), "filename": "a.svg"},
            {"content": encoded(b"a,b"), "filename": "t.csv"},
        ]
        return [
            await client.call_tool("run_workflow", {"document": document, "attachments": attachments}),
            await client.call_tool("run_workflow", {"document": {"content": "not base64!", "filename": "x.txt"}}),
        ]

    uploaded, refused = with_client(gallery.url("files", "/mcp"), work)
    assert not uploaded.is_error, uploaded.content[0].text
    assert uploaded.content[0].text == (
        "Received document: notes.txt (document, 11 bytes); "
        "attachments: a.svg (image, 6 bytes), t.csv (document, 3 bytes)."
    )
    assert refused.is_error
    assert refused.content[0].text == "`document`: `content` is not valid base64."


def test_a_file_the_form_does_not_take_is_refused_before_any_upload(gallery: RunningDevkit) -> None:
    before = len(gallery.files())

    async def work(client: Client) -> Any:
        photo = {"content": base64.b64encode(b"%PDF-1.4").decode(), "filename": "doc.pdf"}
        return await client.call_tool("run_workflow", {"title": "x", "tone": "calm", "photo": photo})

    result = with_client(gallery.url("form", "/mcp"), work)
    assert result.is_error
    assert result.content[0].text.startswith("`photo` does not take doc.pdf (a document file)")
    assert len(gallery.files()) == before


@pytest.mark.parametrize("key", [None, "wrong-key"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_sdk_without_the_right_key_is_refused(gallery: RunningDevkit, key: str | None, mode: str) -> None:
    async def work(client: Client) -> Any:
        return await client.list_tools()

    with pytest.raises(BaseException) as raised:  # noqa: PT011 - the SDK wraps it in task groups
        with_client(gallery.url("locked", "/mcp"), work, mode=mode, key=key)
    refused = mcp_error(raised.value)
    assert "API key" in refused.error.message
    assert refused.error.data["code"] == ("missing_api_key" if key is None else "invalid_api_key")


def test_sdk_with_the_key_is_served(gallery: RunningDevkit) -> None:
    async def work(client: Client) -> list[str]:
        return [tool.name for tool in (await client.list_tools()).tools]

    assert with_client(gallery.url("locked", "/mcp"), work, key="s3cret-key") == [
        "chat",
        "run_workflow",
        "complete_text",
    ]


# --- raw HTTP: 2026-07-28 -------------------------------------------------------------


def rpc(request_id: int | str, method: str, params: dict) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def post(client: httpx.Client, url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, content=content, headers={"Content-Type": "application/json", **(headers or {})})


def test_2026_discover_then_list_and_call_without_initialize(gallery: RunningDevkit, client: httpx.Client) -> None:
    url = gallery.url("open", "/mcp")
    discover = post(client, url, rpc(1, "server/discover", {"_meta": META}), modern_headers("server/discover"))
    assert discover.status_code == 200
    assert "mcp-session-id" not in discover.headers
    result = discover.json()["result"]
    assert result["supportedVersions"][0] == "2026-07-28"
    assert result["resultType"] == "complete"
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "endpoint_gallery"
    listed = post(client, url, rpc("l", "tools/list", {"_meta": META}), modern_headers("tools/list")).json()
    assert listed["id"] == "l"
    assert [tool["name"] for tool in listed["result"]["tools"]] == ["chat", "run_workflow", "complete_text"]
    assert listed["result"]["ttlMs"] == 0
    call = {"name": "run_workflow", "arguments": {"topic": "ducks"}, "_meta": META}
    called = post(client, url, rpc(3, "tools/call", call), modern_headers("tools/call", "run_workflow"))
    assert called.status_code == 200
    assert called.headers["content-type"] == "application/json"
    assert called.json()["result"]["structuredContent"] == {"text": WORKFLOW_ANSWER}


def test_2026_call_with_a_progress_token_streams_progress_then_the_response(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    params = {"name": "run_workflow", "arguments": {"topic": "ducks"}, "_meta": {**META, "progressToken": 7}}
    body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params})
    headers = modern_headers("tools/call", "run_workflow") | {"Content-Type": "application/json"}
    with connect_sse(client, "POST", gallery.url("open", "/mcp"), content=body, headers=headers) as source:
        messages = [event.json() for event in source.iter_sse()]
    assert {event["method"] for event in messages[:-1]} == {"notifications/progress"}
    assert all(event["params"]["progressToken"] == 7 for event in messages[:-1])
    assert messages[-1]["id"] == 9
    assert messages[-1]["result"]["content"][0]["text"] == WORKFLOW_ANSWER


@pytest.mark.parametrize(
    ("headers", "params", "code", "says"),
    [
        (modern_headers("tools/list"), {}, -32602, "params._meta"),
        ({"Mcp-Method": "tools/list"}, {"_meta": META}, -32020, "MCP-Protocol-Version"),
        (modern_headers("tools/call"), {"_meta": META}, -32020, "Mcp-Method"),
        (
            modern_headers("tools/list") | {"MCP-Protocol-Version": "2099-01-01"},
            {"_meta": {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}},
            -32022,
            "not supported",
        ),
    ],
)
def test_2026_envelope_and_header_mistakes(
    gallery: RunningDevkit, client: httpx.Client, headers: dict, params: dict, code: int, says: str
) -> None:
    response = post(client, gallery.url("open", "/mcp"), rpc(5, "tools/list", params), headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], response.json()["id"]) == (code, 5)
    assert says in error["message"]
    if code == -32022:
        assert error["data"] == {"supported": ["2026-07-28", "2025-11-25", "2025-06-18"], "requested": "2099-01-01"}


def test_2026_tool_name_header_must_match(gallery: RunningDevkit, client: httpx.Client) -> None:
    params = {"name": "chat", "arguments": {"query": "hi"}, "_meta": META}
    headers = modern_headers("tools/call", "run_workflow")
    response = post(client, gallery.url("open", "/mcp"), rpc(1, "tools/call", params), headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


# --- raw HTTP: 2025-06-18 (initialize, no session) ----------------------------------


def test_2025_initialize_issues_no_session_and_later_requests_stand_alone(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    url = gallery.url("open", "/mcp")
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
    response = post(
        client, url, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init}, {"Accept": ACCEPT}
    )
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert result["protocolVersion"] == "2025-06-18"
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["serverInfo"] == {"name": "endpoint_gallery", "version": "0.1.0", "title": "Endpoint Gallery"}
    assert "resultType" not in result
    version = {"MCP-Protocol-Version": "2025-06-18", "Accept": ACCEPT}
    initialized = post(client, url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, version)
    assert (initialized.status_code, initialized.content) == (202, b"")
    listed = post(client, url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, version)
    assert [tool["name"] for tool in listed.json()["result"]["tools"]] == ["chat", "run_workflow", "complete_text"]
    older = post(
        client, url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, {"MCP-Protocol-Version": "2024-11-05"}
    )
    assert older.status_code == 400
    assert older.json()["error"]["code"] == -32022


# --- malformed JSON-RPC, methods, auth, CORS ------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, -32700),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "ping"', 400, -32700),
        (b"\xff\xfe", 400, -32700),
        (b"[" * 100_000, 400, -32700),
        (json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "method": "tools/list"}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": None, "method": "ping"}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": True, "method": "ping"}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "1.0", "id": 1, "method": "ping"}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": 7}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "result": {}}).encode(), 400, -32600),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}).encode(), 400, -32602),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}).encode(), 404, -32601),
        (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 3}}).encode(), 400, -32602),
        (
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "nope"}}).encode(),
            400,
            -32602,
        ),
        (
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "chat", "arguments": "hi"}}
            ).encode(),
            400,
            -32602,
        ),
    ],
)
def test_malformed_json_rpc_gets_the_specification_error(
    gallery: RunningDevkit, client: httpx.Client, body: bytes, status: int, code: int
) -> None:
    response = post(client, gallery.url("open", "/mcp"), body, {"Accept": ACCEPT})
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["jsonrpc"] == "2.0"
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]


def test_huge_arguments_are_refused_as_a_tool_error(gallery: RunningDevkit, client: httpx.Client) -> None:
    said = []
    for arguments in ({"query": "q" * 1_000_000}, {"query": "hi", **{f"x{i}": "y" * 1000 for i in range(500)}}):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "chat", "arguments": arguments}}
        response = post(client, gallery.url("open", "/mcp"), body)
        assert response.status_code == 200
        assert response.json()["result"]["isError"] is True
        said.append(response.json()["result"]["content"][0]["text"])
    assert said == [
        "The question is too long (1000000 characters; at most 16000).",
        "Unknown argument `x0`: this tool takes `query` and `conversation_id`.",
    ]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_answer_405(gallery: RunningDevkit, client: httpx.Client, method: str) -> None:
    response = client.request(method, gallery.url("open", "/mcp"), headers={"Accept": "text/event-stream"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, OPTIONS"
    assert response.json()["error"]["data"]["code"] == "method_not_allowed"


def test_a_missing_key_is_401_with_a_json_rpc_body(gallery: RunningDevkit, client: httpx.Client) -> None:
    response = post(client, gallery.url("locked", "/mcp"), {"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer realm=")
    assert response.json()["id"] is None
    assert response.json()["error"]["data"] == {"code": "missing_api_key"}


def test_cors_preflight_allows_the_mcp_headers(gallery: RunningDevkit, client: httpx.Client) -> None:
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    response = client.options(gallery.url("cors", "/mcp"), headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    allowed = response.headers["access-control-allow-headers"]
    for header in ("Authorization", "Content-Type", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"):
        assert header in allowed
    assert "access-control-allow-origin" not in client.options(gallery.url("open", "/mcp"), headers=headers).headers


def test_a_post_from_a_page_on_another_origin_is_403_unless_allowed(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    refused = post(client, gallery.url("open", "/mcp"), ping, {"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert refused.json()["error"]["data"] == {"code": "origin_not_allowed"}
    allowed = post(client, gallery.url("cors", "/mcp"), ping, {"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    own = post(client, gallery.url("open", "/mcp"), ping, {"Origin": gallery.base_url})  # the endpoint's own page
    assert own.status_code == 200
