"""`AppBackend`: answers a plugin's app calls the way Dify's API does.

It follows api/core/plugin/backwards_invocation/app.py: the app is looked up first and
the call is dispatched by the APP's mode, not by which SDK interface the plugin used, so
a chat app called through `workflow.invoke` fails with "missing query" as in Dify. All
request errors are raised before the first event, also in blocking mode, because Dify's
API answers them with an HTTP error instead of a stream.

Concurrency: many invocations may run at once on one event loop. Conversation state is
only read and changed in `_start`, which has no `await`, so no lock is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dify_plugin_devkit._errors import DevkitError

from . import events, scripts
from .events import Event
from .scripts import Inputs, Run
from .spec import AppSpec, load_apps

_DEFAULT_CODES: dict[int | None, str] = {400: "invalid_param", 404: "not_found"}


class AppCallError(DevkitError):
    """An app call failed the way Dify's API reports it.

    `status` is the HTTP status Dify's API answers with before streaming (400, 404), or
    None when the call broke after it began (the transport failing mid-stream).
    """

    message: str
    status: int | None
    code: str

    def __init__(self, message: str, status: int | None = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or _DEFAULT_CODES.get(status, events.ERROR_CODE)

    @classmethod
    def invalid_param(cls, message: str) -> AppCallError:
        """What a ValueError inside Dify's app invocation turns into."""
        return cls(message, status=400, code="invalid_param")

    @classmethod
    def not_found(cls, message: str) -> AppCallError:
        return cls(message, status=404, code="not_found")

    @classmethod
    def transport(cls, message: str) -> AppCallError:
        return cls(message, status=None, code=events.ERROR_CODE)

    def body(self) -> dict[str, Any]:
        """Dify's API error JSON."""
        return {"code": self.code, "message": self.message, "status": self.status}

    def __repr__(self) -> str:
        return f"AppCallError({self.message!r}, status={self.status!r}, code={self.code!r})"


@dataclass
class Conversation:
    """A chat app's conversation. Its inputs are fixed by its first turn, as in Dify."""

    id: str
    inputs: Inputs
    queries: list[str] = field(default_factory=list)

    def add_turn(self, query: str) -> int:
        """Record a turn (at its start: Dify keeps failed messages too); return its number."""
        self.queries.append(query)
        return len(self.queries)


class AppBackend:
    """The demo apps of one devkit run, and the conversations held with them.

    At most `max_conversations` are kept (the oldest forgotten first, like an expired
    one), so a long soak or benchmark run cannot grow the devkit without bound.
    """

    def __init__(self, apps: Iterable[AppSpec], *, max_conversations: int = 10_000) -> None:
        self._apps: dict[str, AppSpec] = {}
        for app in apps:
            self._apps[app.id] = app
        self._conversations: dict[tuple[str, str], Conversation] = {}  # insertion-ordered
        self.max_conversations = max_conversations

    @classmethod
    def from_files(cls, *paths: Path, extra: Iterable[AppSpec] = ()) -> AppBackend:
        """Apps of several fixture files, then `extra` ones (declared inline); a later
        declaration adds an app or replaces the same-id one."""
        return cls([*(app for path in paths for app in load_apps(path)), *extra])

    def get(self, app_id: str) -> AppSpec | None:
        return self._apps.get(app_id)

    @property
    def apps(self) -> list[AppSpec]:
        return list(self._apps.values())

    def fetch_app(self, app_id: str) -> dict[str, Any]:
        """App info for the SDK's fetch_app.

        Dify answers only `{"data": <app parameters>}`; `id`, `name`, `mode` and
        `description` are added for the devkit's own pages.
        """
        spec = self._lookup(app_id)
        return {
            "id": spec.id,
            "name": spec.name,
            "mode": spec.mode,
            "description": spec.description,
            "data": events.app_parameters([(v.name, v.required) for v in spec.variables]),
        }

    async def invoke(self, request: Mapping[str, Any]) -> AsyncIterator[Event]:
        """Run one app call (the SDK's request dict) and yield what Dify sends back.

        Streaming yields each event; blocking yields exactly one dict, Dify's blocking
        response, after the whole script (delays included) has run. Raises AppCallError
        with status 400/404 before the first yield for request errors, and with status
        None for an injected transport failure.
        """
        run, streaming = self._start(request)
        async with aclosing(_with_faults(run)) as stream:
            if streaming:
                async for event in stream:
                    yield event
            else:
                yield await _blocking_response(run, stream)

    # --- validation and conversations (no awaits: see module docstring) -------------

    def _lookup(self, app_id: object) -> AppSpec:
        spec = self._apps.get(app_id) if isinstance(app_id, str) else None
        if spec is None:
            raise AppCallError.invalid_param("app not found")
        return spec

    def _start(self, request: Mapping[str, Any]) -> tuple[Run, bool]:
        """Check the request as Dify does, in Dify's order, and plan the run."""
        response_mode = request.get("response_mode")
        if response_mode not in ("streaming", "blocking"):
            raise AppCallError.invalid_param("response_mode must be 'streaming' or 'blocking'")
        raw_inputs = request.get("inputs")
        if raw_inputs is None:
            raw_inputs = {}
        if not isinstance(raw_inputs, Mapping):
            raise AppCallError.invalid_param("inputs must be an object")
        query = request.get("query")
        if query is not None and not isinstance(query, str):
            raise AppCallError.invalid_param("query must be a string")
        conversation_id = request.get("conversation_id")
        if conversation_id is not None and not isinstance(conversation_id, str):
            raise AppCallError.invalid_param("conversation_id must be a string")

        spec = self._lookup(request.get("app_id"))
        if not spec.is_chat:
            inputs = validate_inputs(spec, raw_inputs)
            run = Run.plan(spec, query="", inputs=inputs, turn=1, conversation_id="")
            return run, response_mode == "streaming"
        if not query:
            raise AppCallError.invalid_param("missing query")
        conversation = self._conversation(spec, conversation_id or "", raw_inputs)
        turn = conversation.add_turn(query)
        run = Run.plan(spec, query=query, inputs=conversation.inputs, turn=turn, conversation_id=conversation.id)
        return run, response_mode == "streaming"

    def _conversation(self, spec: AppSpec, conversation_id: str, raw_inputs: Mapping[str, Any]) -> Conversation:
        """The conversation to continue, or a new one (inputs validated only then, as in Dify).

        The plugin-supplied `user` is not part of the key: Dify ignores it for endpoint calls.
        """
        if conversation_id:
            conversation = self._conversations.get((spec.id, conversation_id))
            if conversation is None:
                raise AppCallError.not_found("Conversation Not Exists.")
            return conversation
        conversation = Conversation(id=events.new_id(), inputs=validate_inputs(spec, raw_inputs))
        self._conversations[(spec.id, conversation.id)] = conversation
        while len(self._conversations) > self.max_conversations:
            del self._conversations[next(iter(self._conversations))]
        return conversation


def validate_inputs(spec: AppSpec, raw: Mapping[str, Any]) -> dict[str, str | None]:
    """The declared variables' values, checked as Dify's input form does.

    Undeclared inputs are dropped (Dify passes only declared ones to the app); a missing
    or empty required value and a non-string value are errors with Dify's messages.
    """
    inputs: dict[str, str | None] = {}
    for variable in spec.variables:
        value = raw.get(variable.name)
        if value is not None and not isinstance(value, str):
            raise AppCallError.invalid_param(f"{variable.name} in input form must be a string")
        if variable.required and not value:
            raise AppCallError.invalid_param(f"{variable.name} is required in input form")
        inputs[variable.name] = value
    return inputs


async def _with_faults(run: Run) -> AsyncGenerator[Event, None]:
    """The run's events with the app's faults applied.

    A fault at N fires when an (N+1)th event is due, in its place: a script shorter than
    N events ends normally. `silent_after` wins over `fail_after` at the same count.
    """
    spec = run.spec
    if spec.first_event_delay:
        await asyncio.sleep(spec.first_event_delay)
    sent = 0
    async with aclosing(scripts.stream(run)) as script:
        async for event in script:
            if spec.silent_after is not None and sent >= spec.silent_after:
                await _forever()
            if spec.fail_after is not None and sent >= spec.fail_after:
                if spec.fail_as == "invocation":
                    raise AppCallError.transport(spec.fail_message)
                yield run.error_event(spec.fail_message)
                return
            yield event
            sent += 1


async def _forever() -> None:
    """Wait until cancelled: an app that stopped sending without ending."""
    await asyncio.get_running_loop().create_future()


async def _blocking_response(run: Run, stream: AsyncIterator[Event]) -> Event:
    """Dify's blocking response, built from the run's stream; a failed run raises."""
    collected: list[Event] = []
    async for event in stream:
        if event["event"] == "error":
            raise AppCallError.transport(event["message"])
        collected.append(event)
    if run.spec.mode == "workflow":
        return events.workflow_blocking(_last(collected, "workflow_finished"))
    message = run.message_context()
    answer = "".join(e["answer"] for e in collected if e["event"] in ("message", "agent_message"))
    usage = _last(collected, "message_end")["metadata"]["usage"]
    if run.spec.mode == "completion":
        return events.completion_blocking(message, answer, usage)
    return events.chat_blocking(message, run.spec.mode, answer, usage)


def _last(collected: list[Event], kind: str) -> Event:
    for event in reversed(collected):
        if event["event"] == kind:
            return event
    raise AssertionError(f"script ended without a {kind} event")
