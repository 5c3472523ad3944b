"""Answer with an app's result: Server-Sent Events with keep-alives, or blocking JSON.

What an endpoint that calls an app needs once it has an `AppCall`:

    return streaming.stream_app_as_sse(call, config.keepalive_seconds)   # SSE
    return streaming.blocking_json(call)                                  # one JSON result
    return streaming.app_response(call, run.response_mode, config.keepalive_seconds)  # either

A stream always ends well-formed. Once streaming has begun the status (200) and
headers are gone, and the daemon would write a raw error text into the body if the
handler raised; so an app failure becomes a last `error` frame shaped like Dify's
own `error` event instead. `blocking_json` raises `AppFailed` (catch `EndpointError`
and answer `http.json_error(error)`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from werkzeug import Request, Response

from provider import http
from provider.apps import AppCall, ResponseMode
from provider.errors import AppFailed
from provider.pacing import KEEPALIVE, keepalive_batches
from provider.sse import ServerSentEvent


def stream_app_as_sse(call: AppCall, keepalive_seconds: float) -> Response:
    """Run `call` in streaming mode and answer its events as a text/event-stream
    (keep-alives in silences, an `error` frame if the app fails)."""
    return sse_stream(call.stream(), keepalive_seconds)


def blocking_json(call: AppCall) -> Response:
    """Run `call` in blocking mode and answer Dify's result as JSON; AppFailed on failure."""
    return http.json_response(call.blocking())


def app_response(call: AppCall, response_mode: ResponseMode, keepalive_seconds: float) -> Response:
    """`blocking_json` for "blocking", else `stream_app_as_sse`: what the caller asked for."""
    if response_mode == "blocking":
        return blocking_json(call)
    return stream_app_as_sse(call, keepalive_seconds)


def sse_stream(events: Iterator[dict[str, Any]], keepalive_seconds: float) -> Response:
    """Any iterator of Dify-style event dicts (e.g. `call.stream()`, filtered or
    reshaped by you) as a text/event-stream response; see `sse_frame_batches`. Events that
    arrive while the previous ones are being written go out together in one chunk
    (each still its own frame); an event that arrives alone is sent at once."""
    return http.sse_batch_response(sse_frame_batches(events, keepalive_seconds))


def sse_frame_batches(events: Iterator[dict[str, Any]], keepalive_seconds: float) -> Iterator[list[ServerSentEvent]]:
    """A `: stream open` comment at once, then one frame per event (named after its
    `event` field, data = the event as JSON, ids 1, 2, ...), keep-alive comments in
    silences, and a final `error` frame (`error_event`) if `events` raises AppFailed; in
    lists: the frames of the events that were already waiting when the previous list
    had been taken (see `pacing.keepalive_batches`)."""
    # The daemon sends status and headers with the first body chunk: send one now,
    # so the client sees the stream open even if the app thinks for minutes.
    yield [ServerSentEvent(comment="stream open")]
    count = 0
    try:
        for batch in keepalive_batches(events, keepalive_seconds):
            if batch is KEEPALIVE:
                yield [ServerSentEvent.keep_alive()]
                continue
            frames = []
            for event in batch:
                count += 1
                frames.append(ServerSentEvent.json(str(event.get("event") or "message"), event, id=str(count)))
            yield frames
    except AppFailed as failure:
        yield [ServerSentEvent.json("error", error_event(failure), id=str(count + 1))]


def error_event(failure: AppFailed) -> dict[str, Any]:
    """Shaped like Dify's own `error` event (`status`, `code`, `message`), so clients handle both alike."""
    return {"event": "error", "status": failure.status, "code": failure.code, "message": failure.message}


def is_reconnect(r: Request) -> bool:
    """Whether `r` is an EventSource reconnecting after the stream ended (it sends
    Last-Event-ID). Answer it 204 (`Response(status=204)`): that tells the browser to
    stop, instead of running the app again every 3 s."""
    return r.headers.get("Last-Event-ID") is not None
