"""GET/POST /duck — a conversation page: the earlier turns, and the chat app's new answer
streamed into the page (then rendered as Markdown), in the visitor's language."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from gallery import conversations, duck_page
from provider import apps, auth, cors, http, i18n, parsing
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class DuckEndpoint(Endpoint):
    @cors.allow_origins  # CORS headers on every response, for the origins in `allowed_origins`
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        lang = i18n.negotiate(r)
        nonce = duck_page.new_nonce()
        headers = duck_page.page_headers(nonce, lang)
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
                    duck_page.form_page(nonce, key, lang=lang), content_type="text/html; charset=utf-8", headers=headers
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
            message = duck_page.error_message(error, lang)
            return http.html_error(error, duck_page.form_page(nonce, key, message, lang), headers)
        # 5. the earlier turns come from the plugin's storage, never from the request
        store = conversations.ConversationStore(self.session.storage, call.app_id)
        earlier, loaded = store.load(question.conversation_id)

        def remember(conversation_id: str, turn: conversations.Turn) -> None:
            # a conversation the app did not continue (a new id) starts afresh
            before = earlier if conversation_id == question.conversation_id else []
            store.save(conversation_id, [*before, turn])

        # 6. stream the page as the answer arrives; keep the finished turn before the follow-up form
        page = duck_page.answer_page(
            nonce,
            question.query,
            call.stream(),
            config.keepalive_seconds,
            key,
            lang=lang,
            earlier=earlier,
            history_loaded=loaded,
            remember=remember,
            file_origin=conversations.public_origin(r.headers.get("Dify-Hook-Url")),
        )
        return http.html_stream(page, headers)
