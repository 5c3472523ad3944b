"""OPTIONS /mcp — the CORS preflight a browser-based MCP client sends first.

Like endpoints/preflight.py (provider.cors), but a browser must also be allowed to send
MCP's own headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) and `Accept`.
"""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from gallery.mcp import protocol
from provider import cors, http
from provider.errors import EndpointError
from provider.settings import EndpointSettings

#: what an MCP client sends beyond the kit's CORS headers
MCP_HEADERS = ("Accept", protocol.VERSION_HEADER, protocol.METHOD_HEADER, protocol.NAME_HEADER)


class McpPreflightEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        try:
            config = EndpointSettings.parse(settings)  # an invalid allowed_origins is reported, not ignored
        except EndpointError as error:
            return http.json_error(error)
        return cors.preflight(r, config.allowed_origins, methods=("POST",), headers=MCP_HEADERS)
