"""What `run` shows a person: the example of each route, and the page at `/`.

The banner (`_cli.banner`) and the page list the same thing: every endpoint instance
of devkit.yaml with its routes, and for each route the request that works as
printed. A route gets an example from devkit.yaml (`examples:` of the instance, else
of the file); without one, only a GET route with no path variable has an obvious
working request (the bare URL). Anything else is listed as having no example, never
printed as a request that would fail (`-d '{}'` to a route that needs a body, a URL
with `<name>` in it).

Each example carries the headers its request sends: the instance's `example_headers`
and, with `example_signature`, the signature header computed over the example's exact
body bytes (the empty body of a GET, the JSON body as printed otherwise), the way a
webhook sender signs: `X-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jinja2 import Environment, select_autoescape

if TYPE_CHECKING:
    from dify_plugin_devkit._app import Devkit
    from dify_plugin_devkit._config import EndpointInstance, ExampleSignature

#: Why a route is not shown as a request.
NOT_SET_UP = "not set up on this endpoint"  # its example is null in devkit.yaml
NO_EXAMPLE = "no example"
# a multipart body's bytes (its boundary) are curl's choice: no signature can be printed for it
SIGNED_MULTIPART = "no example: a signed example needs a JSON body, not -F"


@dataclass(frozen=True)
class RouteExample:
    method: str
    path: str  # the route as declared, e.g. /title/<text>
    url: str  # the endpoint URL, without the example
    example: str | None  # the query string, JSON body or curl -F arguments; None: none works
    missing: str | None = None  # NOT_SET_UP, NO_EXAMPLE or SIGNED_MULTIPART when example is None
    headers: tuple[tuple[str, str], ...] = ()  # what the printed request sends besides its Content-Type


def example_body(method: str, example: str) -> bytes:
    """The exact body bytes the printed request sends (curl -d sends a literal as is)."""
    return b"" if method == "GET" else (example or "{}").encode("utf-8")


def signature_header(signature: ExampleSignature, secret: str, body: bytes) -> tuple[str, str]:
    """The header a sender puts on `body` (scheme hmac-sha256: prefix + hex digest)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return signature.header, signature.prefix + digest


def route_examples(devkit: Devkit, instance: EndpointInstance) -> list[RouteExample]:
    """Every route of the plugin on this instance (CORS preflights left out)."""
    if devkit.plugin is None or devkit.config is None:
        raise RuntimeError("route_examples() needs a loaded Devkit")
    found = []
    for route in devkit.plugin.routes:
        if route.method == "OPTIONS":  # browsers send them, not people
            continue
        name = f"{route.method} {route.path}"
        url = f"{devkit.base_url}/e/{instance.hook_id}{route.path}"
        missing: str | None = NOT_SET_UP  # when an example is set and null
        if name in instance.examples:
            example = instance.examples[name]
        elif name in devkit.config.examples:
            example = devkit.config.examples[name]
        elif route.method == "GET" and "<" not in route.path:
            example = ""  # the bare URL works
        else:
            example, missing = None, NO_EXAMPLE
        signature = instance.example_signature
        if example is not None and signature is not None and route.method != "GET" and example.startswith("-F "):
            example, missing = None, SIGNED_MULTIPART
        headers = tuple(instance.example_headers.items())
        if example is not None:
            missing = None
            if route.method == "GET" and "<" in route.path and example.startswith("/"):
                # a path with parameters (`/v1/models/<path:model_id>`): the example is the concrete path
                path, mark, query = example.partition("?")
                url, example = f"{devkit.base_url}/e/{instance.hook_id}{path}", mark + query
            if signature is not None:
                secret = str(instance.settings[signature.secret_setting])
                headers += (signature_header(signature, secret, example_body(route.method, example)),)
        found.append(RouteExample(route.method, route.path, url, example, missing, headers))
    return found


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }} — dify-devkit</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}li{margin:.2em 0}.none{color:#777}</style></head>
<body><h1>{{ name }}</h1>
<p>Running in {{ mode }} mode behind the dify-devkit daemon. Endpoints are served under
<code>/e/&lt;hook_id&gt;/…</code>, as Dify's plugin daemon serves them.</p>
{% for instance, routes in instances %}
<h2>{{ instance.name }} <small>(hook id <code>{{ instance.hook_id }}</code>{% if not instance.enabled %},
disabled: answers 404{% endif %})</small></h2>
<ul>
{% for r in routes %}<li><code>{{ r.method }}</code>
{% if r.example is not none and r.method == "GET" %}<a href="{{ r.url ~ r.example }}">{{ r.url ~ r.example }}</a>
{% else %}<code>{{ r.url }}</code>{% endif %}
{% if r.example is none %}<span class="none">({{ r.missing }})</span>
{% elif r.method != "GET" %}<code>{{ r.example or "{}" }}</code>{% endif %}</li>
{% endfor %}</ul>
{% endfor %}
<p>Demo apps: {{ apps }}. Devkit stats: <a href="/devkit/stats">/devkit/stats</a>.</p>
</body></html>
"""
_TEMPLATE = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string(_PAGE)


def index_page(devkit: Devkit) -> str:
    """The HTML page the devkit answers at `/` (every value escaped by Jinja2)."""
    if devkit.plugin is None or devkit.config is None or devkit.apps is None:
        raise RuntimeError("index_page() needs a loaded Devkit")
    instances = [(instance, route_examples(devkit, instance)) for instance in devkit.config.endpoints]
    return _TEMPLATE.render(
        name=devkit.plugin.name,
        mode="serverless" if devkit.options.serverless else "local (stdio)",
        instances=instances,
        apps=", ".join(app.id for app in devkit.apps.apps),
    )
