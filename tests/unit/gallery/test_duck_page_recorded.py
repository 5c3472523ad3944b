"""gallery.duck_page fed the chatflow events a real Dify 1.13.2 sent (real-dify-1.13.2/):
a failed run is shown and kept as a failure whether or not Dify's `error` event arrives."""

from __future__ import annotations

from typing import Any

from gallery import duck_page
from gallery.conversations import Turn
from tests.conftest import inner_api_events, service_api_events

SANDBOX_DOWN = (
    "Failed to execute code, which is likely a network issue, please check if the sandbox service is running. "
    "( Error: [Errno 111] Connection refused )"
)


def page(events: list[dict[str, Any]]) -> tuple[str, list[Turn]]:
    remembered: list[Turn] = []
    html = "".join(
        duck_page.answer_page("n0nce", "hello", iter(events), 5, None, remember=lambda c, t: remembered.append(t))
    )
    return html, remembered


def test_a_failed_chatflow_shows_difys_error_event() -> None:
    events = inner_api_events("inner_chat_fail_stream")
    assert [e["event"] for e in events][-2:] == ["workflow_finished", "error"]
    html, remembered = page(events)
    assert f'<div class="error" role="alert">The app reported an error: Run failed: {SANDBOX_DOWN}</div>' in html
    assert 'id="rendered"' not in html
    assert remembered == []


def test_a_failed_chatflow_without_its_error_event_is_still_a_failure() -> None:
    """The Service API closes the stream at `workflow_finished` (failed): no `error` event."""
    events = service_api_events("chat_fail_stream")
    assert [e["event"] for e in events][-1] == "workflow_finished"
    assert "error" not in [e["event"] for e in events]
    html, remembered = page(events)
    assert '<div class="answer" id="answer">Thinking about hello... </div>' in html
    assert f'<div class="error" role="alert">The app reported an error: {SANDBOX_DOWN}</div>' in html
    assert 'id="rendered"' not in html
    assert remembered == []


def test_a_succeeded_chatflow_is_a_whole_answer() -> None:
    """message_end comes before workflow_finished (succeeded): the answer stays whole and is kept."""
    events = inner_api_events("inner_chat_stream_new")
    assert [e["event"] for e in events][-2:] == ["message_end", "workflow_finished"]
    html, remembered = page(events)
    assert 'class="error"' not in html
    assert 'id="rendered"' in html
    assert [turn.answer for turn in remembered] == ["".join(e["answer"] for e in events if e["event"] == "message")]
