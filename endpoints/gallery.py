"""GET / — the gallery page: what this endpoint is, its routes' public URLs with curl
lines, a live demo of each route whose app is set, and how to connect an OpenAI client
(`/v1`) and an MCP client (`/mcp`) (see gallery.index_page)."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from gallery import index_page
from provider import app_form, auth, cors, http, i18n
from provider.errors import AppFailed, EndpointError
from provider.settings import EndpointSettings


class GalleryEndpoint(Endpoint):
    @cors.allow_origins  # CORS headers on every response, for the origins in `allowed_origins`
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        lang = i18n.negotiate(r)
        nonce = index_page.new_nonce()
        headers = index_page.page_headers(nonce, lang)
        try:
            # 1. the endpoint's settings, read once
            config = EndpointSettings.parse(settings)
            # 2. the optional API key, as on Duck: Bearer, or `?key=` since browsers open this page
            key = auth.require_api_key(r, config.api_key, key_field=r.args.get("key", ""))
        except EndpointError as error:
            return http.html_error(error, index_page.error_page(nonce, lang, error), headers)
        # 3. each route's app and its input form; an unset or unreadable app is shown as such
        demos = []
        for route, setting in index_page.ROUTES:
            app_id = config.apps.get(setting)
            if app_id is None:
                demos.append(index_page.Demo(route, setting, "unset"))
                continue
            try:
                fields = app_form.fetch_form(self.session, app_id, setting)
            except AppFailed as failure:
                demos.append(index_page.Demo(route, setting, "failed", failure=failure))
                continue
            demos.append(index_page.Demo(route, setting, "ready", tuple(fields)))
        # 4. the models of /v1 and the tools of /mcp, as those routes read them from the settings
        exhibits = index_page.exhibits(settings, config)
        # 5. the page, with URLs built from the public hook URL the daemon sends
        page = index_page.page(
            nonce,
            lang,
            index_page.public_base(r),
            demos,
            key_required=config.api_key is not None,
            key=key,
            exhibits=exhibits,
        )
        return Response(page, content_type="text/html; charset=utf-8", headers=headers)
