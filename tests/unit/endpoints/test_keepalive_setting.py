"""Both endpoints pace their streams with the endpoint's own `keepalive_seconds`.

An app silent for longer than the setting must produce a keep-alive (an SSE comment
on the runners, an HTML comment on Duck) before its first event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from endpoints.duck import DuckEndpoint
from endpoints.runner import RunnerEndpoint
from tests.unit.fakes import FakeAppInterface, fake_session, request

SILENCE = 1.3  # the setting's minimum is 1 s: one keep-alive, then the event


@dataclass
class SilentApp(FakeAppInterface):
    """Says nothing for SILENCE seconds, then yields its events."""

    def _stream(self) -> Iterator[dict[str, Any]]:
        time.sleep(SILENCE)
        yield from super()._stream()


def test_the_runner_sends_a_keepalive_comment_while_the_app_is_silent() -> None:
    app = SilentApp(events=[{"event": "workflow_finished", "data": {}}])
    settings = {"workflow_app": {"app_id": "wf"}, "keepalive_seconds": "1"}
    response = RunnerEndpoint(fake_session(workflow=app))._invoke(request("POST", "/workflow", json={}), {}, settings)
    text = b"".join(response.iter_encoded()).decode()
    assert text.index(": keep-alive") < text.index("event: workflow_finished")


def test_duck_sends_a_keepalive_comment_while_the_app_is_silent() -> None:
    app = SilentApp(events=[{"event": "message", "answer": "quack"}])
    settings = {"chat_app": {"app_id": "chat"}, "keepalive_seconds": "1"}
    response = DuckEndpoint(fake_session(chat=app))._invoke(request("GET", "/duck?query=hi"), {}, settings)
    text = b"".join(response.iter_encoded()).decode()
    assert text.index("<!-- -->") < text.index("quack")
