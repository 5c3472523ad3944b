"""GET/POST /duck — a question form, and the chat app's answer streamed into the page."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, duck_page, http, parsing, runner
from provider.errors import GalleryError, Unauthorized


class DuckEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        nonce = duck_page.new_nonce()
        headers = duck_page.page_headers(nonce)
        key = None
        try:
            # 1. parse the request (query string on GET, form or JSON on POST)
            fields = parsing.duck_fields(r)
            key = fields.get("key") if isinstance(fields.get("key"), str) else ""
            # 2. check the optional API key before anything else happens
            auth.require_api_key(r, settings, key_field=key)
            if r.method == "GET" and "query" not in fields:
                return Response(duck_page.form_page(nonce, key), content_type="text/html; charset=utf-8", headers=headers)
            question = parsing.question(fields)
            # 3. the app always comes from the `chat_app` setting, never from the URL
            call = apps.AppCall(
                self.session,
                kind="chat",
                setting="chat_app",
                app_id=apps.configured_app_id(settings, "chat_app"),
                inputs={},
                query=question.query,
                conversation_id=question.conversation_id,
                user=question.user,
            )
            keepalive = runner.keepalive_seconds(settings)
        except GalleryError as error:
            carried_key = None if isinstance(error, Unauthorized) else key  # never echo a wrong key
            return http.html_error(error, duck_page.form_page(nonce, carried_key, error.message), headers)
        # 4. stream the page as the answer arrives
        page = duck_page.answer_page(nonce, question.query, call.stream(), keepalive, key)
        return http.html_stream(page, headers)
