"""POST /v1/chat/completions — an app of the endpoint answers as an OpenAI chat model.

The request's `model` picks one of the apps chosen in the settings (never an app id
from the request); the answer is a `chat.completion` (application/json) or, with
`stream: true`, `chat.completion.chunk` data lines ending with `data: [DONE]`. A chat
client's growing message list continues one Dify conversation; see
gallery.openai_compat for how, and for the error shapes.
"""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from gallery import openai_compat
from provider import auth, cors
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class OpenAIChatEndpoint(Endpoint):
    @cors.allow_origins  # CORS headers on every response, for the origins in `allowed_origins`
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        try:
            # 1. the endpoint's settings, read once: they say which apps are models
            config = EndpointSettings.parse(settings)
            models = openai_compat.configured_models(settings, config)
            # 2. nothing happens for a caller without the key (constant-time check)
            auth.require_api_key(r, config.api_key)
            # 3. parse and check the OpenAI request
            request = openai_compat.parse_chat_request(r)
            # 4. the app comes from the settings: `model` only picks one of them
            model = openai_compat.find_model(models, request.model)
            # 5. run it and answer: a stream of chunks, or one chat.completion
            return openai_compat.answer(
                self.session, model, request, settings, config.keepalive_seconds, config.max_file_bytes
            )
        except EndpointError as error:
            return openai_compat.error_response(error)
