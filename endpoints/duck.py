"""GET/POST /duck — a question form, and the chat app's answer streamed into the page."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, duck_page, http, parsing
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class DuckEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        nonce = duck_page.new_nonce()
        headers = duck_page.page_headers(nonce)
        key: str | None = None  # carried into the page's forms once it proved right; never a wrong one
        try:
            # 1. the endpoint's settings, read once
            config = EndpointSettings.parse(settings)
            # 2. parse the request (query string on GET, form or JSON on POST)
            fields = parsing.form_fields(r)
            key_field = fields.get("key") if isinstance(fields.get("key"), str) else ""
            # 3. check the optional API key before anything else happens (a right `key` field is carried on)
            key = auth.require_api_key(r, config.api_key, key_field=key_field)
            if r.method == "GET" and "query" not in fields:
                return Response(
                    duck_page.form_page(nonce, key), content_type="text/html; charset=utf-8", headers=headers
                )
            question = parsing.question(fields)
            # 4. the app always comes from the `chat_app` setting, never from the URL
            call = apps.AppCall(
                self.session,
                kind="chat",
                setting="chat_app",
                app_id=config.app_id("chat_app"),
                query=question.query,
                conversation_id=question.conversation_id,
                user=question.user,
            )
        except EndpointError as error:
            return http.html_error(error, duck_page.form_page(nonce, key, error.message), headers)
        # 5. stream the page as the answer arrives
        page = duck_page.answer_page(nonce, question.query, call.stream(), config.keepalive_seconds, key)
        return http.html_stream(page, headers)
