"""POST/GET /workflow — run the workflow app; Server-Sent Events or blocking JSON."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, http, parsing, runner
from provider.errors import GalleryError


class WorkflowEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        if runner.is_reconnect(r):
            return Response(status=204)
        try:
            auth.require_api_key(r, settings)
            run = parsing.run_request(r)
            call = apps.AppCall(
                self.session,
                kind="workflow",
                setting="workflow_app",
                app_id=apps.configured_app_id(settings, "workflow_app"),
                inputs=run.inputs,
                user=run.user,
            )
            return runner.respond(call, run.response_mode, runner.keepalive_seconds(settings))
        except GalleryError as error:
            return http.json_error(error)
