"""A `tools/call` whose app goes silent ends with a clear tool error, never a hang: the
SDK gives up on a silent app stream after MAX_INVOCATION_TIMEOUT (3 s here, 250 s in
production, see support.py) and the exhibit answers `isError` with a readable message,
with keep-alives on the way (SSE comments, or newlines before a JSON answer)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.robustness.conftest import Robust
from tests.robustness.support import leaks_in

META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


@pytest.mark.parametrize("progress", [False, True])
def test_a_silent_app_ends_the_call_with_a_tool_error(robust: Robust, progress: bool) -> None:
    meta = {**META, "progressToken": "p"} if progress else META
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "chat", "arguments": {"query": "hi"}, "_meta": meta},
    }
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "chat"}
    with httpx.Client(timeout=60) as client:
        response = client.post(f"{robust.devkit.base_url}/e/silent/mcp", json=body, headers=headers)
    assert response.status_code == 200
    assert not leaks_in(response.text)
    if progress:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert ": keep-alive" in response.text
        last = [line for line in response.text.splitlines() if line.startswith("data: ")][-1]
        answer = json.loads(last[6:])
    else:
        assert response.text.startswith("\n")  # newlines kept the connection alive during the silence
        answer = json.loads(response.text)
    assert answer["id"] == 1
    assert answer["result"]["isError"] is True
    # stdio: the SDK's "invocation exited without response"; serverless: the cut transaction (provider.apps)
    assert answer["result"]["content"][0]["text"] in {"The app did not answer in time.", "The app could not be run."}
