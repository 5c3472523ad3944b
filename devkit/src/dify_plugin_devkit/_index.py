"""What `run` shows a person: the example of each route, and the page at `/`.

The banner (`_cli.banner`) and the page list the same thing: every endpoint instance
of devkit.yaml with its routes, and for each route the request that works as
printed. A route gets an example from devkit.yaml (`examples:` of the instance, else
of the file); without one, only a GET route with no path variable has an obvious
working request (the bare URL). Anything else is listed as having no example, never
printed as a request that would fail (`-d '{}'` to a route that needs a body, a URL
with `<name>` in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jinja2 import Environment, select_autoescape

if TYPE_CHECKING:
    from dify_plugin_devkit._app import Devkit
    from dify_plugin_devkit._config import EndpointInstance

#: Why a route is not shown as a request.
NOT_SET_UP = "not set up on this endpoint"  # its example is null in devkit.yaml
NO_EXAMPLE = "no example"


@dataclass(frozen=True)
class RouteExample:
    method: str
    path: str  # the route as declared, e.g. /title/<text>
    url: str  # the endpoint URL, without the example
    example: str | None  # the query string, JSON body or curl -F arguments; None: none works
    missing: str | None = None  # NOT_SET_UP or NO_EXAMPLE when example is None


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
        if example is not None:
            missing = None
            if route.method == "GET" and "<" in route.path and example.startswith("/"):
                # a path with parameters (`/v1/models/<path:model_id>`): the example is the concrete path
                path, mark, query = example.partition("?")
                url, example = f"{devkit.base_url}/e/{instance.hook_id}{path}", mark + query
        found.append(RouteExample(route.method, route.path, url, example, missing))
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
