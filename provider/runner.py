"""Run a workflow or completion app and answer as SSE or blocking JSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from werkzeug import Request, Response

from provider import http
from provider.apps import AppCall
from provider.errors import AppFailed, AppNotConfigured
from provider.limits import DEFAULT_KEEPALIVE_SECONDS, KEEPALIVE_RANGE
from provider.pacing import KEEPALIVE, with_keepalive
from provider.sse import ServerSentEvent


def keepalive_seconds(settings: Mapping[str, Any]) -> float:
    """The `keepalive_seconds` setting (text), or the default when empty."""
    raw = settings.get("keepalive_seconds")
    if raw is None or str(raw).strip() == "":
        return DEFAULT_KEEPALIVE_SECONDS
    low, high = KEEPALIVE_RANGE
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= high:
        raise AppNotConfigured(
            f"The endpoint's `keepalive_seconds` setting must be a number of seconds from {low:g} to {high:g}."
        )
    return seconds


def is_reconnect(r: Request) -> bool:
    """An EventSource reconnecting after the stream ended sends Last-Event-ID.
    Answering 204 tells it to stop, instead of running the app again every 3 s."""
    return r.headers.get("Last-Event-ID") is not None


def respond(call: AppCall, response_mode: str, keepalive: float) -> Response:
    if response_mode == "blocking":
        return http.json_response(call.blocking())
    return http.sse_response(event_frames(call.stream(), keepalive))


def failure_event(failure: AppFailed) -> dict[str, Any]:
    """Shaped like Dify's own `error` event, so clients handle both alike."""
    return {"event": "error", "status": failure.status, "code": failure.code, "message": failure.message}


def event_frames(events: Iterator[dict[str, Any]], keepalive: float) -> Iterator[ServerSentEvent]:
    """One frame per app event, keep-alive comments in silences, and an `error`
    frame if the app fails; the stream always ends well-formed."""
    # The daemon sends status and headers with the first body chunk: send one now.
    yield ServerSentEvent(comment="stream open")
    count = 0
    try:
        for event in with_keepalive(events, keepalive):
            if event is KEEPALIVE:
                yield ServerSentEvent.keep_alive()
                continue
            count += 1
            yield ServerSentEvent.json(str(event.get("event") or "message"), event, id=str(count))
    except AppFailed as failure:
        yield ServerSentEvent.json("error", failure_event(failure), id=str(count + 1))
