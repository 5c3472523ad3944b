"""Baseline (b): the shape of the Duck example in Dify's endpoint docs: each app event
as `json.dumps(event) + " <br>"`, in an HTML response. `?kind=` as in raw.py."""

import json
from collections.abc import Mapping

from baselines.raw import invoke
from dify_plugin import Endpoint
from werkzeug import Request, Response


class DocsDuck(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        events = invoke(self, r.args.get("kind", "chat"), settings)
        return Response((json.dumps(event) + " <br>" for event in events), status=200, content_type="text/html")
