"""The MCP methods this server answers, and how each answer travels.

- `server/discover` (2026-07-28) and `initialize` (2025-11-25, 2025-06-18): who we are
  (from the manifest) and that we offer tools. `initialize` issues no `Mcp-Session-Id`:
  nothing is kept, every later request stands alone.
- `tools/list`: one tool per configured app (`gallery.mcp.tools`), schemas read from the
  apps now.
- `tools/call`: one JSON-RPC response; with `params._meta.progressToken` (and a client
  that takes `text/event-stream`), an SSE stream of `notifications/progress` and then
  the response, as the Streamable HTTP transport allows.
- `ping`; notifications (`notifications/initialized`, ...) are acknowledged with 202.

Results of a 2026-07-28 request carry `resultType: "complete"` (required at that
revision) and the server's identity in `_meta` (`io.modelcontextprotocol/serverInfo`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from werkzeug import Request, Response

from gallery.mcp import calls, protocol, tools
from provider import app_form, files, http
from provider.apps import AppCall
from provider.errors import EndpointError
from provider.pacing import KEEPALIVE
from provider.settings import EndpointSettings
from provider.sse import ServerSentEvent

if TYPE_CHECKING:
    from dify_plugin.core.runtime import Session

#: Tools follow the apps: a client must not reuse a listing (ttlMs 0), and a listing
#: is for the key that asked (cacheScope private).
_CACHE_HINTS: Final = {"cacheScope": "private", "ttlMs": 0}
INSTRUCTIONS: Final = (
    "Each tool runs one app of a Dify workspace. Workflow and text-generation tools take the app's own input "
    "form as arguments; the chat tool takes a query and returns a conversation_id to continue with."
)


def server_info() -> dict[str, str]:
    """Name, title and version from the plugin's manifest (`Implementation`)."""
    manifest = http.manifest()  # read once, cached (provider.http)
    label = manifest.get("label")
    title = label.get("en_US") if isinstance(label, dict) else None
    info = {"name": str(manifest.get("name") or http.FALLBACK_REALM), "version": str(manifest.get("version") or "0")}
    if isinstance(title, str) and title:
        info["title"] = title
    return info


def method_not_allowed(r: Request) -> Response:
    """405 for GET and DELETE: no server-to-client stream, no session to end."""
    error = protocol.MethodNotAllowed(
        f"{r.method} is not served: this MCP server is stateless (no stream to open, no session to end); "
        "send each JSON-RPC request with POST."
    )
    response = error_response(error, None)
    response.headers["Allow"] = "POST, OPTIONS"
    return response


def error_response(error: EndpointError, request_id: protocol.RequestId | None) -> Response:
    """Any EndpointError as a JSON-RPC error with its HTTP status (see protocol.error_body)."""
    headers = http.error_headers(error)  # the kit's: no-store, nosniff, a 401's challenge
    body = json.dumps(protocol.error_body(error, request_id), ensure_ascii=False)
    return Response(body, status=error.status, content_type="application/json", headers=headers)


def answer(
    session: Session,
    r: Request,
    message: protocol.Message,
    offered: Sequence[tools.Tool],
    config: EndpointSettings,
) -> Response:
    """The response to one checked message."""
    if message.is_notification:
        return Response(status=202)
    json_ok, sse_ok = protocol.accepts(r)
    if not json_ok and not sse_ok:
        raise protocol.NotAcceptable(
            "Send `Accept: application/json, text/event-stream`: this server answers with one or the other.",
            request_id=message.id,
        )
    if message.method == "initialize" and not message.modern:
        return _result(message, _initialize(message))
    if message.method == "server/discover":
        return _result(message, _discover())
    if message.method == "ping":
        return _result(message, {})
    if message.method == "tools/list":
        return _result(message, {"tools": list_tools(session, offered), **(_CACHE_HINTS if message.modern else {})})
    if message.method == "tools/call":
        return _call(session, message, offered, config, stream=sse_ok)
    raise protocol.MethodNotFound(
        f"Method `{message.method[:80]}` is not offered: this server answers tools/list and tools/call "
        "(and initialize, server/discover, ping).",
        request_id=message.id,
    )


def _initialize(message: protocol.Message) -> dict[str, Any]:
    requested = message.params.get("protocolVersion")
    # the client's version when we speak it, else our newest: the client then decides (2025-11-25, Lifecycle)
    version = requested if requested in protocol.HANDSHAKE_VERSIONS else protocol.HANDSHAKE_VERSIONS[0]
    return {
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": False}},
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS,
    }


def _discover() -> dict[str, Any]:
    return {
        "supportedVersions": list(protocol.SUPPORTED_VERSIONS),
        "capabilities": {"tools": {"listChanged": False}},
        "instructions": INSTRUCTIONS,
        **_CACHE_HINTS,
    }


def _stamped(message: protocol.Message, result: dict[str, Any]) -> dict[str, Any]:
    if not message.modern:
        return result
    meta = {**result.get("_meta", {}), protocol.SERVER_INFO_KEY: server_info()}
    return {**result, "resultType": "complete", "_meta": meta}


def _response_body(message: protocol.Message, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message.id, "result": _stamped(message, result)}


def _result(message: protocol.Message, result: dict[str, Any]) -> Response:
    return http.json_response(_response_body(message, result))


def list_tools(session: Session, offered: Sequence[tools.Tool]) -> list[dict[str, Any]]:
    """Every tool whose app can be read now (an app that is gone is left out, and logged
    by provider.app_form)."""
    listed = []
    for tool in offered:
        try:
            fields = app_form.fetch_form(session, tool.app_id, tool.setting)
        except EndpointError:
            continue
        listed.append(tools.definition(tool, fields))
    return listed


def _call(
    session: Session,
    message: protocol.Message,
    offered: Sequence[tools.Tool],
    config: EndpointSettings,
    *,
    stream: bool,
) -> Response:
    name, arguments = message.params.get("name"), message.params.get("arguments", {})
    if not isinstance(name, str):
        raise protocol.InvalidParams("`params.name` must be the name of a tool.", request_id=message.id)
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise protocol.InvalidParams("`params.arguments` must be an object.", request_id=message.id)
    tool = next((t for t in offered if t.name == name), None)
    if tool is None:
        names = ", ".join(t.name for t in offered) or "none: no app is set"
        raise protocol.InvalidParams(f"Unknown tool `{name[:80]}`; the tools are: {names}.", request_id=message.id)
    try:
        call = prepare(session, tool, arguments, config)
    except EndpointError as refused:  # refused arguments, a file Dify did not take, an app gone: a tool error
        return _result(message, calls.error_result(refused.message))
    token = message.meta.get("progressToken")
    steps = calls.run(call, config.keepalive_seconds)
    if stream and isinstance(token, str | int) and not isinstance(token, bool):
        return http.sse_batch_response(_sse(message, token, steps))
    return Response(
        http.bounded_chunks(_json(message, steps)),
        status=200,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def prepare(session: Session, tool: tools.Tool, arguments: Mapping[str, Any], config: EndpointSettings) -> AppCall:
    """The app call for `arguments`: checked against the app's form read now, files
    uploaded. EndpointError (ToolInputRefused, FileRejected, AppFailed, ...) if refused."""
    call = AppCall(session, kind=tool.kind, setting=tool.setting, app_id=tool.app_id)
    parameters = call.parameters()
    form, fields = files.InputForm.from_parameters(parameters), app_form.parse_form(parameters)
    inputs = arguments
    if tool.kind == "chat":
        chat = tools.chat_arguments(arguments, has_form=bool(fields))
        call, inputs = replace(call, query=chat.query, conversation_id=chat.conversation_id), chat.inputs
    checked = tools.form_arguments(fields, form, inputs, config.max_file_bytes)
    uploaded = files.upload(call, checked.uploads, form) if checked.uploads else {}
    return replace(call, inputs={**checked.inputs, **tools.file_inputs(checked, uploaded, form)})


def _json(message: protocol.Message, steps: Iterator[calls.Step]) -> Iterator[bytes]:
    """One JSON-RPC response; while the app is silent, a newline now and then (JSON
    allows whitespace before a value) so that no proxy cuts the connection."""
    for step in steps:
        if step is KEEPALIVE:
            yield b"\n"
        elif isinstance(step, dict):
            yield json.dumps(_response_body(message, step), ensure_ascii=False).encode("utf-8")


def _sse(
    message: protocol.Message, token: protocol.RequestId, steps: Iterator[calls.Step]
) -> Iterator[list[ServerSentEvent]]:
    """`notifications/progress` as the app goes, then the response; each a `message` event."""
    yield [ServerSentEvent(comment="stream open")]  # the daemon sends the headers with the first chunk
    for step in steps:
        if step is KEEPALIVE:
            yield [ServerSentEvent.keep_alive()]
        elif isinstance(step, calls.Progress):
            params = {"progressToken": token, "progress": step.progress, "message": step.message}
            notification = {"jsonrpc": "2.0", "method": "notifications/progress", "params": params}
            yield [ServerSentEvent.json("message", notification)]
        else:
            yield [ServerSentEvent.json("message", _response_body(message, step))]
