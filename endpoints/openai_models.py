"""GET /v1/models and /v1/models/<path:model_id> — the endpoint's apps as OpenAI models.

One model per app-selector that holds an app (see gallery.openai_compat), in OpenAI's
list shape, so that a client with a "base URL" field can offer them. An unknown model
is OpenAI's 404 `model_not_found`, not the daemon's route-not-found body.
"""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from gallery import openai_compat
from provider import auth, cors, http
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class OpenAIModelsEndpoint(Endpoint):
    @cors.allow_origins  # CORS headers on every response, for the origins in `allowed_origins`
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        try:
            # 1. the endpoint's settings, read once: they say which apps are models
            config = EndpointSettings.parse(settings)
            models = openai_compat.configured_models(settings, config)
            # 2. nothing is listed for a caller without the key
            auth.require_api_key(r, config.api_key)
            # 3. one model (its id from the path), or all of them
            model_id = values.get("model_id")
            if isinstance(model_id, str):
                return http.json_response(openai_compat.model_object(openai_compat.find_model(models, model_id)))
            return http.json_response(openai_compat.model_list(models))
        except EndpointError as error:
            return openai_compat.error_response(error)
