"""POST /mcp under fuzz: every JSON-RPC message, well- or ill-formed (batches, missing ids,
wrong types, the 2026-07-28 envelope right and wrong, huge arguments), with MCP's
routing headers matching the body or not, gets a JSON-RPC answer: 200 (a result, or a
tool error), 202 (a notification), or a 4xx whose body is a JSON-RPC error with the
specification's code. Never a 5xx, never the daemon's or Python's words, never the key;
the plugin lives on. Same devkit, checks and sizes as test_fuzz_every_route.py.
"""

from __future__ import annotations

import json

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.robustness.conftest import Robust
from tests.robustness.test_fuzz_every_route import (
    AUTHORIZATION,
    FUZZ,
    HOOK,
    MCP_BODY,
    MCP_HEADERS,
    OUTCOMES,
    check,
    refused_by_the_sdk,
    send,
)

#: JSON-RPC 2.0 and MCP error codes a 4xx may carry (gallery.mcp.protocol), and -32000 for
#: the endpoint's own refusals (401 without the key).
SPEC_CODES = frozenset({-32700, -32600, -32601, -32602, -32020, -32022, -32000})
HUGE_CALL = st.integers(1, 1_000_000).map(
    lambda n: json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "chat", "arguments": {"query": "q" * n}}}
    ).encode()
)


@st.composite
def mcp_requests(draw: st.DrawFn) -> dict:
    headers: dict[str, bytes] = dict(draw(MCP_HEADERS))
    headers["Content-Type"] = b"application/json"
    if draw(st.booleans()):
        headers["Accept"] = draw(st.sampled_from([b"application/json, text/event-stream", b"application/json", b"*/*"]))
    authorization = draw(AUTHORIZATION)
    if authorization is not None:
        headers["Authorization"] = authorization
    return {
        "method": "POST",
        "hook": draw(HOOK),
        "path": "/mcp",
        "query": "",
        "headers": headers,
        "body": draw(MCP_BODY | HUGE_CALL),
    }


@FUZZ
@given(request=mcp_requests())
def test_any_json_rpc_message_gets_a_json_rpc_answer_never_a_5xx(
    robust: Robust, client: httpx.Client, request: dict
) -> None:
    response = send(client, robust.devkit.base_url, request)
    check(response, request)
    if refused_by_the_sdk(response):
        return
    assert response.status_code < 500, response.text[:300]
    OUTCOMES[f"mcp {response.status_code}"] += 1
    if response.status_code == 202:
        assert response.content == b""
        return
    if response.headers["content-type"].startswith("text/event-stream"):
        assert response.status_code == 200
        assert '"jsonrpc":"2.0"' in response.text
        return
    answer = json.loads(response.text)
    assert answer["jsonrpc"] == "2.0"
    if response.status_code >= 400:
        assert answer["error"]["code"] in SPEC_CODES, answer
        assert answer["error"]["message"]
    else:
        assert "result" in answer, answer
    stats = client.get(f"{robust.devkit.base_url}/devkit/stats").json()
    assert stats["plugin_pid"] == robust.devkit.plugin_pid, stats
    assert stats["plugin_restarts"] == 0, stats
