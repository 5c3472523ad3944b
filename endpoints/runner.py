"""POST/GET /workflow and /completion — run the app; Server-Sent Events or blocking JSON.

Both routes share this source (each has its own YAML declaring path and method);
the route decides which kind of app runs and which setting holds it.
"""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, cors, files, http, parsing, streaming
from provider.errors import EndpointError
from provider.settings import EndpointSettings

# route -> (the SDK interface to call, the app-selector setting that names the app)
APPS: dict[str, tuple[apps.AppKind, str]] = {
    "/workflow": ("workflow", "workflow_app"),
    "/completion": ("completion", "completion_app"),
}


class RunnerEndpoint(Endpoint):
    @cors.allow_origins  # CORS headers on every response, for the origins in `allowed_origins`
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        kind, setting = APPS[r.path]
        if streaming.is_reconnect(r):  # an EventSource reconnecting after the end: don't run again
            return Response(status=204)
        try:
            # 1. the endpoint's settings, read once; nothing happens for a caller without the key
            config = EndpointSettings.parse(settings)
            auth.require_api_key(r, config.api_key)
            # 2. parse and validate the request (JSON or multipart body, or the query string on GET)
            run = parsing.run_request(r)
            # 3. the app comes from the endpoint's settings, never from the request
            call = apps.AppCall(
                self.session,
                kind=kind,
                setting=setting,
                app_id=config.app_id(setting),
                inputs=run.inputs,
                user=run.user,
            )
            # 4. files: checked against the app's own input form, then uploaded (none for a refused request)
            if run.files:
                call = files.attach(call, run.files, config.max_file_bytes)
            # 5. stream the app's events as SSE, or return its blocking result
            return streaming.app_response(call, run.response_mode, config.keepalive_seconds)
        except EndpointError as error:
            return http.json_error(error)
