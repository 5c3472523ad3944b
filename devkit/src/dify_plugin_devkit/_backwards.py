"""Answer the plugin's reverse invocations ("backwards" calls) as the daemon does.

The daemon (internal/core/io_tunnel/backwards_invocation/task.go) checks the
manifest permission, forwards the call to Dify's API and relays each result as a
`response` event, a failure as one `error` event, and always closes with `end`.
The error texts are the daemon's, because plugin code (and its users) see them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from dify_plugin_devkit._apps import AppBackend, AppCallError
from dify_plugin_devkit._errors import ProtocolError

# Invoke types of the SDK's InvokeType that need `resource.permission.app.enabled`.
_APP_TYPES = frozenset({"app", "fetch_app"})


class InvokeRequestError(ProtocolError):
    """The plugin sent an `invoke` message the daemon cannot even parse."""


def response_event(request_id: str, data: Any, message: str = "stream") -> dict[str, Any]:
    return {"backwards_request_id": request_id, "event": "response", "message": message, "data": data}


def error_event(request_id: str, message: str) -> dict[str, Any]:
    return {"backwards_request_id": request_id, "event": "error", "message": message, "data": None}


def end_event(request_id: str) -> dict[str, Any]:
    return {"backwards_request_id": request_id, "event": "end", "message": "", "data": None}


def parse_invoke(data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """`(type, backwards_request_id, request)`, or InvokeRequestError like the daemon's
    prepareDifyInvocationArguments."""
    invoke_type, request_id, request = data.get("type"), data.get("backwards_request_id"), data.get("request")
    if not isinstance(invoke_type, str):
        raise InvokeRequestError(f"invoke request missing type: {data}")
    if not isinstance(request_id, str):
        raise InvokeRequestError(f"invoke request missing request_id: {data}")
    if not isinstance(request, dict):
        raise InvokeRequestError(f"invoke request missing request: {data}")
    return invoke_type, request_id, request


def describe_app_error(error: AppCallError) -> str:
    """The message the plugin's `Exception` carries, worded as the daemon words it."""
    if error.status is None:  # the stream from Dify's API broke mid-way
        return f"read app failed: request failed: {error.message}"
    body = json.dumps(error.body())
    return f"invoke app failed: request failed with status code: {error.status} and respond with: {body}"


class BackwardsInvoker:
    """Turns one `invoke` message into the stream of `backwards_response` payloads."""

    def __init__(self, apps: AppBackend, *, app_permission: bool) -> None:
        self.apps = apps
        self.app_permission = app_permission
        # app calls received per app id: lets tests and benchmarks see what ran
        self.app_calls: Counter[str] = Counter()

    async def answer(self, invoke_type: str, request_id: str, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        if invoke_type in _APP_TYPES and not self.app_permission:
            yield error_event(request_id, "permission denied, you need to enable app access in plugin manifest")
        elif invoke_type == "app":
            async for event in self._invoke_app(request_id, request):
                yield event
        elif invoke_type == "fetch_app":
            try:
                yield response_event(request_id, self.apps.fetch_app(str(request.get("app_id", ""))))
            except AppCallError as error:
                yield error_event(request_id, f"fetch app failed: {error.message}")
        else:
            yield error_event(
                request_id,
                f"unsupported invoke type: {invoke_type} (the devkit answers app calls only; "
                "run the plugin against a real Dify for models, tools and storage)",
            )
        yield end_event(request_id)

    async def _invoke_app(self, request_id: str, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self.app_calls[str(request.get("app_id"))] += 1
        try:
            async for value in self.apps.invoke(request):
                yield response_event(request_id, value)
        except AppCallError as error:
            yield error_event(request_id, describe_app_error(error))
