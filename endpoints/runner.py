"""POST/GET /workflow and /completion — run the app; Server-Sent Events or blocking JSON.

Both routes share this source (each has its own YAML declaring path and method);
the route decides which kind of app runs and which setting holds it.
"""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, http, parsing, runner
from provider.errors import GalleryError

# route -> (the SDK interface to call, the app-selector setting that names the app)
APPS = {
    "/workflow": ("workflow", "workflow_app"),
    "/completion": ("completion", "completion_app"),
}


class RunnerEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        kind, setting = APPS[r.path]
        if runner.is_reconnect(r):  # an EventSource reconnecting after the end: don't run again
            return Response(status=204)
        try:
            # 1. nothing happens for a caller without the key
            auth.require_api_key(r, settings)
            # 2. parse and validate the request (JSON body, or the query string on GET)
            run = parsing.run_request(r)
            # 3. the app comes from the endpoint's settings, never from the request
            call = apps.AppCall(
                self.session,
                kind=kind,
                setting=setting,
                app_id=apps.configured_app_id(settings, setting),
                inputs=run.inputs,
                user=run.user,
            )
            # 4. stream the app's events as SSE, or return its blocking result
            return runner.respond(call, run.response_mode, runner.keepalive_seconds(settings))
        except GalleryError as error:
            return http.json_error(error)
