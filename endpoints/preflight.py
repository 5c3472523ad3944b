"""OPTIONS /duck, /workflow, /completion — the CORS preflight a browser sends first.

A page on another origin that `fetch`es a route with `Authorization` or a JSON body
gets an answer only after the browser asked here; see provider.cors. No API key is
checked: browsers never send one with a preflight.
"""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import cors, http
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class PreflightEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        try:
            config = EndpointSettings.parse(settings)  # an invalid allowed_origins is reported, not ignored
        except EndpointError as error:
            return http.json_error(error)
        return cors.preflight(r, config.allowed_origins)
