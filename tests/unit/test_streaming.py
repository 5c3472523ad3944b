"""provider.streaming: an app call answered as SSE (always well-formed) or as blocking JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug import Response

from provider import http, streaming
from provider.apps import AppCall
from provider.errors import AppFailed
from tests.unit.fakes import FakeAppInterface, fake_session, request

WORKFLOW_EVENTS: list[dict[str, Any]] = [
    {"event": "workflow_started", "workflow_run_id": "r1"},
    {"event": "text_chunk", "data": {"text": "two\nlines"}},
    {"event": "workflow_finished", "data": {"status": "succeeded"}},
]


def body_lines(response: Response) -> list[str]:
    return response.get_data(as_text=True).split("\n")


def workflow_call(interface: FakeAppInterface) -> AppCall:
    return AppCall(fake_session(workflow=interface), kind="workflow", setting="workflow_app", app_id="app-1")


def test_stream_opens_at_once_then_one_numbered_frame_per_event() -> None:
    response = streaming.stream_app_as_sse(workflow_call(FakeAppInterface(events=WORKFLOW_EVENTS)), 5)
    assert response.status_code == 200
    assert response.content_type == "text/event-stream; charset=utf-8"
    assert response.headers["X-Accel-Buffering"] == "no"
    lines = body_lines(response)
    assert lines[:2] == [": stream open", ""]
    assert [line for line in lines if line.startswith(("id:", "event:"))] == [
        "id: 1",
        "event: workflow_started",
        "id: 2",
        "event: text_chunk",
        "id: 3",
        "event: workflow_finished",
    ]
    data = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert data == WORKFLOW_EVENTS  # each frame's data is the app's event itself, on one line


def test_an_event_without_a_name_is_sent_as_message() -> None:
    frames = [frame for batch in streaming.sse_frame_batches(iter([{"answer": "hi"}]), 5) for frame in batch]
    assert frames[1].event == "message"


def test_an_app_failure_ends_the_stream_with_an_error_frame_shaped_like_difys() -> None:
    interface = FakeAppInterface(events=WORKFLOW_EVENTS[:1], error="read app failed: EOF")
    lines = body_lines(streaming.stream_app_as_sse(workflow_call(interface), 5))
    assert lines[-5:] == [
        "id: 2",
        "event: error",
        'data: {"event":"error","status":502,"code":"app_stream_failed","message":"The app failed while answering."}',
        "",
        "",
    ]


def test_silences_are_filled_with_keep_alive_comments() -> None:
    gate = threading.Event()

    def events() -> Iterator[dict[str, Any]]:
        yield {"event": "workflow_started"}
        gate.wait(2)
        yield {"event": "workflow_finished"}

    frames = (frame for batch in streaming.sse_frame_batches(events(), keepalive_seconds=0.01) for frame in batch)
    assert [next(frames).comment for _ in range(2)] == ["stream open", None]
    assert next(frames).comment == "keep-alive"
    gate.set()
    rest = list(frames)
    assert rest[-1].event == "workflow_finished"
    assert rest[-1].id == "2"


def test_blocking_json_answers_difys_result() -> None:
    interface = FakeAppInterface(result={"data": {"status": "succeeded"}})
    response = streaming.blocking_json(workflow_call(interface))
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"data": {"status": "succeeded"}}
    assert interface.calls[0]["response_mode"] == "blocking"


def test_blocking_json_raises_the_failure_for_the_endpoint_to_answer() -> None:
    with pytest.raises(AppFailed):
        streaming.blocking_json(workflow_call(FakeAppInterface(error="invocation exited without response")))


@pytest.mark.parametrize(
    ("mode", "content_type"), [("blocking", "application/json"), ("streaming", "text/event-stream")]
)
def test_app_response_answers_in_the_mode_asked_for(mode: Any, content_type: str) -> None:
    response = streaming.app_response(workflow_call(FakeAppInterface(events=WORKFLOW_EVENTS)), mode, 5)
    assert response.content_type.startswith(content_type)


def test_error_event_has_difys_error_fields() -> None:
    failure = AppFailed("Too slow.", code="app_timeout", status=504)
    assert streaming.error_event(failure) == {
        "event": "error",
        "status": 504,
        "code": "app_timeout",
        "message": "Too slow.",
    }


def test_an_eventsource_reconnect_is_recognised_by_last_event_id() -> None:
    assert streaming.is_reconnect(request(headers={"Last-Event-ID": "12"}))
    assert not streaming.is_reconnect(request())


def test_events_already_waiting_go_out_in_one_chunk_each_its_own_frame() -> None:
    ready, gate = threading.Event(), threading.Event()

    def events() -> Iterator[dict[str, Any]]:
        yield WORKFLOW_EVENTS[0]
        gate.wait(5)
        yield from WORKFLOW_EVENTS[1:]
        ready.set()

    chunks = iter(streaming.sse_stream(events(), 5).response)
    assert next(chunks) == b": stream open\n\n"
    assert next(chunks).startswith(b"id: 1\nevent: workflow_started\n")  # alone, at once
    gate.set()
    assert ready.wait(2)  # both later events wait to be sent
    together = next(chunks)
    frames = together.decode().split("\n\n")
    assert [f.split("\n")[:2] for f in frames[:-1]] == [
        ["id: 2", "event: text_chunk"],
        ["id: 3", "event: workflow_finished"],
    ]
    assert list(chunks) == []


def test_a_lone_event_is_sent_at_once_without_waiting_for_more() -> None:
    gate = threading.Event()

    def events() -> Iterator[dict[str, Any]]:
        yield WORKFLOW_EVENTS[0]
        gate.wait(5)
        yield WORKFLOW_EVENTS[2]

    chunks = iter(streaming.sse_stream(events(), 5).response)
    next(chunks)
    first = next(chunks)
    assert not gate.is_set()  # sent while the app is still silent
    assert first.count(b"event: ") == 1
    gate.set()
    assert b"workflow_finished" in b"".join(chunks)


def test_coalesced_frames_are_sent_in_chunks_no_larger_than_the_limit() -> None:
    big = {"event": "text_chunk", "data": {"text": "x" * (400 * 1024)}}
    chunks = list(streaming.sse_stream(iter([big] * 8), 5).response)
    assert max(len(chunk) for chunk in chunks) <= http.MAX_CHUNK_BYTES
    body = b"".join(chunks).decode()
    assert body.count("event: text_chunk") == 8
