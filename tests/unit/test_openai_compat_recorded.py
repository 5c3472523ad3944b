"""gallery.openai_compat.app_pieces fed the chatflow events a real Dify 1.13.2 sent
(real-dify-1.13.2/): a failed chatflow run fails the answer whether or not Dify's `error`
event arrives, and a succeeded one (message_end before workflow_finished) is whole."""

from __future__ import annotations

from typing import Any

import pytest

from gallery import openai_compat as oc
from provider.errors import AppFailed
from tests.conftest import inner_api_events, service_api_events


@pytest.mark.parametrize(
    "events",
    [inner_api_events("inner_chat_fail_stream"), service_api_events("chat_fail_stream")],
    ids=["inner-api-with-error-event", "service-api-without"],
)
def test_a_failed_chatflow_fails_after_the_part_that_came(events: list[dict[str, Any]]) -> None:
    got: list[str] = []
    with pytest.raises(AppFailed) as raised:
        got.extend(oc.app_pieces(iter(events), "chat", oc.Outcome()))
    assert raised.value.code == "app_stream_failed"
    assert raised.value.status == 502
    assert "sandbox" not in raised.value.message  # Dify's words stay in the log
    assert "".join(got) == "Thinking about hello... "


def test_a_succeeded_chatflow_is_whole_once() -> None:
    events = inner_api_events("inner_chat_stream_new")
    assert [e["event"] for e in events][-2:] == ["message_end", "workflow_finished"]
    outcome = oc.Outcome()
    got = list(oc.app_pieces(iter(events), "chat", outcome))
    assert "".join(got) == "".join(e["answer"] for e in events if e["event"] == "message")
    assert outcome.conversation_id == events[0]["conversation_id"]
