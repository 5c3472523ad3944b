"""POST/GET /completion — run the completion app; Server-Sent Events or blocking JSON."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, http, parsing, runner
from provider.errors import GalleryError


class CompletionEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        if runner.is_reconnect(r):
            return Response(status=204)
        try:
            auth.require_api_key(r, settings)
            run = parsing.run_request(r)
            call = apps.AppCall(
                self.session,
                kind="completion",
                setting="completion_app",
                app_id=apps.configured_app_id(settings, "completion_app"),
                inputs=run.inputs,
                user=run.user,
            )
            return runner.respond(call, run.response_mode, runner.keepalive_seconds(settings))
        except GalleryError as error:
            return http.json_error(error)
