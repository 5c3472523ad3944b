"""POST /mcp — the endpoint's apps as MCP tools (Streamable HTTP, stateless); GET and
DELETE /mcp answer 405 (no stream to open, no session to end). See gallery.mcp."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from gallery.mcp import protocol, server, tools
from provider import auth, cors
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class McpEndpoint(Endpoint):
    @cors.allow_origins  # CORS headers on every response, for the origins in `allowed_origins`
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        if r.method != "POST":
            return server.method_not_allowed(r)
        request_id: protocol.RequestId | None = None
        try:
            # 1. the endpoint's settings, read once (the tools: one per app set); nothing happens without the key
            config = EndpointSettings.parse(settings)
            offered = tools.configured_tools(settings, config)
            protocol.check_origin(r, config.allowed_origins)  # a page on another origin: 403 unless allowed
            auth.require_api_key(r, config.api_key)
            # 2. parse and check the JSON-RPC message (its protocol revision, its headers)
            message = protocol.parse(r)
            request_id = message.id
            # 3. answer it; the apps come from the endpoint's settings, never from the request
            return server.answer(self.session, r, message, offered, config)
        except EndpointError as error:
            return server.error_response(error, request_id)
