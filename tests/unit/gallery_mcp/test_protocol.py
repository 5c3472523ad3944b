"""gallery.mcp.protocol: JSON-RPC messages read statelessly, per protocol revision."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gallery.mcp import protocol
from provider.errors import Unauthorized
from tests.unit.fakes import request

META = {protocol.PROTOCOL_VERSION_KEY: "2026-07-28", protocol.CLIENT_CAPABILITIES_KEY: {}}


def modern(method: str, name: str | None = None, version: str = "2026-07-28") -> dict[str, str]:
    headers = {"mcp-protocol-version": version, "mcp-method": method}
    return headers | ({"mcp-name": name} if name is not None else {})


def rpc(method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    return body


def refused(body: Any, headers: dict[str, str] | None = None) -> protocol.McpError:
    with pytest.raises(protocol.McpError) as error:
        protocol.read_message(body, headers or {})
    return error.value


def test_a_2026_request_carries_its_version_and_is_modern() -> None:
    message = protocol.read_message(rpc("tools/list", {"_meta": META}), modern("tools/list"))
    assert (message.method, message.id, message.version, message.modern) == ("tools/list", 1, "2026-07-28", True)
    assert not message.is_notification


def test_a_2025_request_after_initialize_is_handshake_era() -> None:
    message = protocol.read_message(rpc("tools/list", request_id="a"), {"mcp-protocol-version": "2025-06-18"})
    assert (message.id, message.version, message.modern) == ("a", "2025-06-18", False)


def test_initialize_is_read_whatever_version_it_offers() -> None:
    message = protocol.read_message(rpc("initialize", {"protocolVersion": "2024-11-05"}), {})
    assert (message.method, message.modern) == ("initialize", False)


@pytest.mark.parametrize(
    ("body", "headers", "kind", "says"),
    [
        (rpc("tools/list", {}), modern("tools/list"), protocol.InvalidParams, "params._meta"),
        (rpc("server/discover"), modern("server/discover"), protocol.InvalidParams, "params._meta"),
        (rpc("tools/list", {"_meta": {protocol.PROTOCOL_VERSION_KEY: "2026-07-28"}}), modern("tools/list"),
         protocol.InvalidParams, protocol.CLIENT_CAPABILITIES_KEY),
        (rpc("tools/list", {"_meta": META}), {"mcp-method": "tools/list"}, protocol.HeaderMismatch, "MCP-Protocol"),
        (rpc("tools/list", {"_meta": META}), modern("tools/list", version="2025-06-18"), protocol.HeaderMismatch,
         "MCP-Protocol"),
        (rpc("tools/list", {"_meta": META}), modern("tools/call"), protocol.HeaderMismatch, "Mcp-Method"),
        (rpc("tools/call", {"_meta": META, "name": "chat"}), modern("tools/call", "other"), protocol.HeaderMismatch,
         "Mcp-Name"),
        (rpc("tools/call", {"_meta": META, "name": "chat"}), modern("tools/call"), protocol.HeaderMismatch,
         "Mcp-Name"),
        (rpc("tools/list", {"_meta": {**META, protocol.PROTOCOL_VERSION_KEY: 7}}), modern("tools/list") | {
            "mcp-protocol-version": "7"}, protocol.HeaderMismatch, "MCP-Protocol"),
        (rpc("tools/list", {"_meta": {**META, protocol.PROTOCOL_VERSION_KEY: "2030-01-01"}}),
         modern("tools/list", version="2030-01-01"), protocol.UnsupportedVersion, "not supported"),
        (rpc("tools/list"), {"mcp-protocol-version": "2024-11-05"}, protocol.UnsupportedVersion, "not supported"),
    ],
)  # fmt: skip
def test_envelope_and_header_mistakes(
    body: dict[str, Any], headers: dict[str, str], kind: type[protocol.McpError], says: str
) -> None:
    error = refused(body, headers)
    assert type(error) is kind
    assert says in error.message
    assert error.status == 400
    assert error.request_id == 1


def test_an_unsupported_version_names_the_supported_ones() -> None:
    error = refused(rpc("ping", {"_meta": {**META, protocol.PROTOCOL_VERSION_KEY: "2030-01-01"}}),
                    modern("ping", version="2030-01-01"))  # fmt: skip
    assert error.rpc_code == -32022
    assert error.data == {"supported": ["2026-07-28", "2025-11-25", "2025-06-18"], "requested": "2030-01-01"}


def test_a_tool_name_header_in_base64_is_decoded() -> None:
    name = "résumé"
    wrapped = "=?base64?" + __import__("base64").b64encode(name.encode()).decode() + "?="
    message = protocol.read_message(rpc("tools/call", {"_meta": META, "name": name}), modern("tools/call", wrapped))
    assert message.params["name"] == name
    assert protocol.decode_header_value("=?base64?!!?=") is None
    assert protocol.decode_header_value("plain") == "plain"


@pytest.mark.parametrize(
    ("body", "kind", "request_id"),
    [
        ([rpc("ping")], protocol.InvalidRequest, None),
        ("ping", protocol.InvalidRequest, None),
        ({"jsonrpc": "2.0", "method": "tools/list"}, protocol.InvalidRequest, None),
        (rpc("ping", request_id=None), protocol.InvalidRequest, None),
        (rpc("ping", request_id=1.5), protocol.InvalidRequest, None),
        (rpc("ping", request_id=True), protocol.InvalidRequest, None),
        (rpc("ping", request_id=[1]), protocol.InvalidRequest, None),
        ({**rpc("ping"), "jsonrpc": "1.0"}, protocol.InvalidRequest, 1),
        ({"jsonrpc": "2.0", "id": 1, "result": {}}, protocol.InvalidRequest, 1),
        (rpc(""), protocol.InvalidRequest, 1),
        ({**rpc("ping"), "method": 3}, protocol.InvalidRequest, 1),
        (rpc("ping", [1, 2]), protocol.InvalidParams, 1),
        (rpc("ping", "x"), protocol.InvalidParams, 1),
    ],
)
def test_malformed_json_rpc(body: Any, kind: type[protocol.McpError], request_id: Any) -> None:
    error = refused(body)
    assert type(error) is kind
    assert error.request_id == request_id
    assert error.status == 400


def test_notifications_have_no_id_and_params_may_be_null() -> None:
    message = protocol.read_message({"jsonrpc": "2.0", "method": "notifications/initialized"}, {})
    assert message.is_notification
    assert protocol.read_message({**rpc("ping"), "params": None}, {}).params == {}


@pytest.mark.parametrize(
    "raw", [b"", b"  \n", b"{", b"\xff", b"[" * 50_000, b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}x']
)
def test_bodies_that_are_not_json_are_parse_errors(raw: bytes) -> None:
    r = request("POST", "/mcp", data=raw, content_type="application/json")
    with pytest.raises(protocol.ParseError) as error:
        protocol.parse(r)
    assert (error.value.rpc_code, error.value.status) == (-32700, 400)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)
PLAUSIBLE = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0"]) | JSON,
        "id": st.integers() | st.text(max_size=5) | JSON,
        "method": st.sampled_from(["tools/list", "tools/call", "server/discover", "notifications/x", "ping"]) | JSON,
        "params": st.fixed_dictionaries({}, optional={"_meta": st.just(META) | JSON, "name": JSON}) | JSON,
    },
)
HEADERS = st.dictionaries(
    st.sampled_from(["mcp-protocol-version", "mcp-method", "mcp-name"]),
    st.sampled_from(["2026-07-28", "2025-06-18", "tools/list", "tools/call", "chat", "=?base64?x?="]) | st.text(),
)


@given(body=PLAUSIBLE | JSON, headers=HEADERS)
def test_any_body_is_a_message_or_a_4xx_protocol_error(body: Any, headers: dict[str, str]) -> None:
    try:
        message = protocol.read_message(body, headers)
    except protocol.McpError as error:
        refusal: protocol.McpError | None = error
    else:
        refusal = None
    if refusal is not None:
        assert 400 <= refusal.status < 500
        assert refusal.message
        json.dumps(protocol.error_body(refusal, None))  # always serialisable
    else:
        assert isinstance(message.method, str)
        assert message.method
        assert message.id is None or isinstance(message.id, str | int)


def test_error_bodies() -> None:
    unsupported = protocol.unsupported("x", 3)
    assert protocol.error_body(unsupported, None) == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {
            "code": -32022,
            "message": unsupported.message,
            "data": {"supported": list(protocol.SUPPORTED_VERSIONS), "requested": "x"},
        },
    }
    assert protocol.error_body(protocol.MethodNotFound("no"), 5)["error"] == {
        "code": -32601,
        "message": "no",
        "data": {"code": "method_not_found"},
    }
    assert protocol.error_body(Unauthorized("key", code="missing_api_key"), 9) == {
        "jsonrpc": "2.0",
        "id": 9,
        "error": {"code": -32000, "message": "key", "data": {"code": "missing_api_key"}},
    }


@pytest.mark.parametrize(
    ("accept", "json_ok", "sse_ok"),
    [
        (None, True, True),
        ("application/json, text/event-stream", True, True),
        ("application/json", True, False),
        ("text/event-stream", False, True),
        ("*/*", True, True),
        ("text/html", False, False),
    ],
)
def test_accept(accept: str | None, json_ok: bool, sse_ok: bool) -> None:
    headers = {"Accept": accept} if accept else {}
    assert protocol.accepts(request("POST", "/mcp", headers=headers)) == (json_ok, sse_ok)
