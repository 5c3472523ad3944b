"""Sessions: one per endpoint request, the unit the daemon routes plugin messages by.

A session owns the queue of messages the plugin sent for it (`stream`, `error`,
`end`) and knows how to wrap a daemon→plugin message in the envelope the SDK
expects (session_manager.Session.Message in the daemon).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SessionMessage:
    """One plugin→daemon message of a session: `{"type": ..., "data": ...}`."""

    type: str  # stream | invoke | error | end
    data: dict[str, Any]

    @classmethod
    def parse(cls, raw: Any) -> SessionMessage:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise ValueError(f"not a session message: {json.dumps(raw)[:200]}")
        data = raw.get("data")
        return cls(type=raw["type"], data=data if isinstance(data, dict) else {})


@dataclass(eq=False)
class Session:
    """One endpoint invocation in flight."""

    endpoint_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    inbox: asyncio.Queue[SessionMessage] = field(default_factory=asyncio.Queue)
    closed: bool = False
    # app calls (`self.session.app...`) the plugin made for this request: `make dev`'s log line
    app_calls: int = 0

    def count_call(self, invoke_type: str) -> None:
        if invoke_type == "app":
            self.app_calls += 1

    def envelope(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """A daemon→plugin line for this session, every field the daemon sends."""
        return {
            "session_id": self.id,
            "conversation_id": None,
            "message_id": None,
            "app_id": None,
            "endpoint_id": self.endpoint_id,
            "context": None,
            "event": event,
            "data": data,
        }


class SessionRegistry:
    """The daemon's session manager: live sessions by id.

    Plugin messages for an unknown or closed session are dropped, as the daemon
    drops messages once a client went away and its listener closed.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def open(self, endpoint_id: str | None) -> Session:
        session = Session(endpoint_id=endpoint_id)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        return self._sessions.get(session_id) if session_id else None

    def close(self, session: Session) -> None:
        session.closed = True
        self._sessions.pop(session.id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))
