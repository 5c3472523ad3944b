"""provider.sse: frames that no payload can break."""

from __future__ import annotations

import datetime as dt

import pytest

from provider.sse import ServerSentEvent


def lines(frame: ServerSentEvent) -> list[str]:
    encoded = frame.encode().decode("utf-8")
    assert encoded.endswith("\n\n")  # a blank line ends every frame
    return encoded[:-2].split("\n")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_multi_line_data_becomes_one_data_line_per_line(newline: str) -> None:
    frame = ServerSentEvent(data=f"first{newline}second{newline}{newline}fourth")
    assert lines(frame) == ["data: first", "data: second", "data: ", "data: fourth"]


HOSTILE = "a\r\ndata: injected\rb\nc\0d"


@pytest.mark.parametrize(
    ("frame", "field"),
    [(ServerSentEvent(data="x", event=HOSTILE), "event"), (ServerSentEvent(data="x", id=HOSTILE), "id")],
)
def test_line_breaks_cannot_inject_fields_through_event_or_id(frame: ServerSentEvent, field: str) -> None:
    assert lines(frame) == [f"{field}: a data: injected b cd", "data: x"]


def test_fields_come_in_spec_order() -> None:
    frame = ServerSentEvent(data="d", event="e", id="7", retry=1500, comment="c")
    assert lines(frame) == [": c", "id: 7", "event: e", "retry: 1500", "data: d"]


def test_keep_alive_is_a_comment_frame() -> None:
    assert ServerSentEvent.keep_alive().encode() == b": keep-alive\n\n"


def test_multi_line_comment_stays_a_comment() -> None:
    assert lines(ServerSentEvent(comment="one\ntwo")) == [": one", ": two"]


def test_json_frame_is_one_compact_line_whatever_the_payload() -> None:
    payload = {"answer": "line 1\nline 2\r\n", "emoji": "🦆", "when": dt.date(2026, 1, 2)}
    frame = ServerSentEvent.json("message", payload, id="3")
    assert lines(frame) == [
        "id: 3",
        "event: message",
        'data: {"answer":"line 1\\nline 2\\r\\n","emoji":"🦆","when":"2026-01-02"}',
    ]
