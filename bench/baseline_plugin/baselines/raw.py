"""Baseline (a): a raw pass-through. Each app event is written as it comes, as one
JSON line, with nothing around it: no framing, no keep-alives, no error handling.
`?kind=workflow|completion|chat` picks the app from the settings of that name."""

import json
from collections.abc import Generator, Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response


def invoke(endpoint: Endpoint, kind: str, settings: Mapping) -> Generator[dict, None, None]:
    """Stream the app named in the `<kind>_app` setting (chat apps need a query)."""
    app_id = settings[f"{kind}_app"]["app_id"]
    app = endpoint.session.app
    if kind == "chat":
        return app.chat.invoke(app_id=app_id, query="bench", inputs={}, response_mode="streaming")
    interface = app.workflow if kind == "workflow" else app.completion
    return interface.invoke(app_id=app_id, inputs={}, response_mode="streaming")


class RawPassThrough(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        events = invoke(self, r.args.get("kind", "workflow"), settings)
        return Response((json.dumps(event) + "\n" for event in events), status=200, content_type="application/x-ndjson")
