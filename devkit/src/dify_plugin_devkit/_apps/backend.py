"""`AppBackend`: answers a plugin's app calls the way Dify's API does.

It follows api/core/plugin/backwards_invocation/app.py: the app is looked up first and
the call is dispatched by the APP's mode, not by which SDK interface the plugin used, so
a chat app called through `workflow.invoke` fails with "missing query" as in Dify. The
request checks of Dify's generators (blocking agent apps, unknown conversations, the
input form) raise before the first event, also in blocking mode, because Dify's API
answers them with an HTTP error instead of a stream. A blocking call whose run fails
raises too: Dify's blocking pipelines re-raise the run's error inside the request.

Concurrency: many invocations may run at once on one event loop. Conversation state is
only read and changed in `_start`, which has no `await`, so no lock is needed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import events, scripts
from .dify import DifyBehaviour
from .dsl import DslApp, DslRun
from .errors import AppCallError
from .events import Event, MessageContext, NodeRun
from .inputs import FileLookup, validate_inputs
from .real_apps import RealApp, RealApps
from .scripts import Inputs, Run
from .spec import WORKFLOW_MODES, AppSpec, load_apps


@dataclass
class Conversation:
    """A chat app's conversation. Chat and agent apps keep the inputs of its first turn;
    a chatflow takes (and checks) each turn's own, as Dify's generators do."""

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
    `file_lookup` resolves file inputs (tool file id -> the uploaded file's info); it
    may be set after construction, once the devkit's file store exists. `real_apps` are
    answered by a real Dify through its Service API (`service_api.py`); one wins over a
    demo app of the same id.
    """

    def __init__(
        self,
        apps: Iterable[AppSpec],
        *,
        max_conversations: int = 10_000,
        file_lookup: FileLookup | None = None,
        real_apps: Iterable[RealApp] = (),
        dify: DifyBehaviour | None = None,
        dsl_apps: Iterable[DslApp] = (),
    ) -> None:
        self.dify = dify if dify is not None else DifyBehaviour()
        self._apps: dict[str, AppSpec] = {}
        for app in apps:
            self._apps[app.id] = app
        # apps from Dify DSL files (dsl.py): chat and completion ones run as demo apps
        self._dsl: dict[str, DslApp] = {}
        for dsl_app in dsl_apps:
            self._dsl[dsl_app.id] = dsl_app
            if dsl_app.basic is not None:
                self._apps[dsl_app.id] = dsl_app.basic
            else:
                self._apps.pop(dsl_app.id, None)
        self.real = RealApps(real_apps)
        self._conversations: dict[tuple[str, str], Conversation] = {}  # insertion-ordered
        self.max_conversations = max_conversations
        self.file_lookup = file_lookup

    @classmethod
    def from_files(
        cls,
        *paths: Path,
        extra: Iterable[AppSpec] = (),
        file_lookup: FileLookup | None = None,
        real_apps: Iterable[RealApp] = (),
        dify: DifyBehaviour | None = None,
        dsl_apps: Iterable[DslApp] = (),
    ) -> AppBackend:
        """Apps of several fixture files, then `extra` ones (declared inline), then the
        DSL apps; a later declaration adds an app or replaces the same-id one."""
        apps = [*(app for path in paths for app in load_apps(path)), *extra]
        return cls(apps, file_lookup=file_lookup, real_apps=real_apps, dify=dify, dsl_apps=dsl_apps)

    def get(self, app_id: str) -> AppSpec | None:
        return self._apps.get(app_id)

    @property
    def apps(self) -> list[AppSpec]:
        return list(self._apps.values())

    @property
    def dsl_apps(self) -> list[DslApp]:
        """The apps read from Dify DSL files."""
        return list(self._dsl.values())

    def fetch_app(self, app_id: str) -> dict[str, Any]:
        """What the SDK's `fetch_app` returns: the app's parameters (Dify's `/parameters`).

        Dify's inner API answers `{"data": <parameters>}`; the daemon's FetchApp
        (internal/core/dify_invocation/calldify/http_request.go) unwraps that `data`, so
        the plugin gets the parameters themselves. AppCallError for an unknown app.
        """
        if isinstance(app_id, str) and app_id in self._dsl:
            return dict(self._dsl[app_id].parameters)
        spec = self._lookup(app_id)
        if isinstance(spec, DslApp):
            return dict(spec.parameters)
        return events.app_parameters(spec)

    async def fetch_parameters(self, app_id: str) -> dict[str, Any]:
        """`fetch_app` for any app: a real one's parameters come from its Dify."""
        real = self.real.get(app_id)
        if real is not None:
            return await self.real.parameters(real)
        return self.fetch_app(app_id)

    async def invoke(self, request: Mapping[str, Any]) -> AsyncIterator[Event]:
        """Run one app call (the SDK's request dict) and yield what Dify sends back.

        Streaming yields each event; blocking yields exactly one dict, Dify's blocking
        response, after the whole script (delays included) has run. Raises AppCallError
        with an HTTP status before the first yield for request errors (and, in blocking
        mode, for a failed run), and with status None for an injected stream failure.
        A real app's call goes to its Dify instead.
        """
        real = self.real.get(request.get("app_id"))
        if real is not None:
            async with aclosing(self.real.invoke(real, request, self.file_lookup)) as answer:
                async for event in answer:
                    yield event
            return
        run, streaming = self._start(request)
        if isinstance(run, DslRun):
            async with aclosing(run.stream()) as graph:
                if streaming:
                    async for event in graph:
                        yield event
                else:
                    yield await _blocking_response(run.app.mode, run.message, graph)
            return
        async with aclosing(_with_faults(run)) as stream:
            if streaming:
                async for event in stream:
                    yield event
            else:
                yield await _blocking_response(run.spec.mode, run.message, stream)

    # --- validation and conversations (no awaits: see module docstring) -------------

    def _lookup(self, app_id: object) -> AppSpec | DslApp:
        """The app (a graph DSL app, or a demo app), or Dify's 400 `app not found`."""
        if not isinstance(app_id, str):
            raise AppCallError.invalid_param("app not found")
        dsl_app = self._dsl.get(app_id)
        if dsl_app is not None and dsl_app.graph is not None:
            return dsl_app
        spec = self._apps.get(app_id)
        if spec is None:
            raise AppCallError.invalid_param("app not found")
        return spec

    def _start(self, request: Mapping[str, Any]) -> tuple[Run | DslRun, bool]:
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
        streaming = response_mode == "streaming"
        if spec.mode == "completion" and self.dify.has("completion_from_plugin_fails", spec.quirks):
            # Dify 1.13.2's reverse invocation passes {"inputs", "files"}; the generator reads args["query"]
            raise AppCallError.server_error("KeyError: 'query' (Dify 1.13.2 cannot run a completion app for a plugin)")
        if not spec.is_chat:
            inputs = validate_inputs(spec, raw_inputs, self.file_lookup)
            if isinstance(spec, DslApp):
                return DslRun(spec, inputs), streaming
            self._model_reachable(spec.id)
            return Run.plan(spec, query="", inputs=inputs, turn=1, conversation_id=None), streaming
        if not query:
            raise AppCallError.invalid_param("missing query")
        if spec.mode == "agent-chat" and not streaming:
            # AgentChatAppGenerator.generate checks this before anything else
            raise AppCallError.invalid_param("Agent Chat App does not support blocking mode")
        if conversation_id and not _is_uuid(conversation_id):
            if self.dify.has("malformed_conversation_id_is_500", spec.quirks):
                raise AppCallError.server_error(f"invalid input syntax for type uuid: {conversation_id!r}")
            raise AppCallError.invalid_param("")
        conversation = self._conversation(spec, conversation_id or "", raw_inputs)
        if isinstance(spec, DslApp):
            turn = conversation.add_turn(query)
            message = MessageContext.start(conversation.id)
            return DslRun(spec, conversation.inputs, query=query, message=message, turn=turn), streaming
        self._model_reachable(spec.id)
        turn = conversation.add_turn(query)
        run = Run.plan(spec, query=query, inputs=conversation.inputs, turn=turn, conversation_id=conversation.id)
        return run, streaming

    def _model_reachable(self, app_id: str) -> None:
        """A DSL chat or completion app whose entry says `fail:`: its model cannot be
        reached, which Dify reports before any event (recorded: inner_basic_stream)."""
        dsl_app = self._dsl.get(app_id)
        if dsl_app is not None and dsl_app.model_fail is not None:
            raise AppCallError.invalid_param(dsl_app.model_fail)

    def _conversation(
        self, spec: AppSpec | DslApp, conversation_id: str, raw_inputs: Mapping[str, Any]
    ) -> Conversation:
        """The conversation to continue, or a new one.

        An unknown id is Dify's `ConversationNotExistsError()`: a ValueError without a
        text, so 400 `invalid_param` with an empty message, for chatflows too (recorded:
        inner_chat_unknown_conv_stream). The plugin-supplied `user` is not part of the
        key: Dify ignores it for endpoint calls.
        """
        if conversation_id:
            conversation = self._conversations.get((spec.id, conversation_id))
            if conversation is not None:
                if spec.mode == "advanced-chat":
                    conversation.inputs = validate_inputs(spec, raw_inputs, self.file_lookup)
                return conversation
            raise AppCallError.invalid_param("")
        conversation = Conversation(id=events.new_id(), inputs=validate_inputs(spec, raw_inputs, self.file_lookup))
        self._conversations[(spec.id, conversation.id)] = conversation
        while len(self._conversations) > self.max_conversations:
            del self._conversations[next(iter(self._conversations))]
        return conversation


@dataclass
class _Progress:
    """What a run has sent so far, to end it from outside its script (faults)."""

    open_nodes: dict[str, tuple[Mapping[str, Any], float]] = field(default_factory=dict)
    steps: int = 0
    deltas: int = 0
    exceptions: int = 0

    def see(self, event: Event) -> None:
        kind = event["event"]
        if kind == "node_started":
            self.open_nodes[event["data"]["id"]] = (event["data"], time.monotonic())
            self.steps += 1
        elif kind == "node_finished":
            self.open_nodes.pop(event["data"]["id"], None)
            if event["data"]["status"] == "exception":
                self.exceptions += 1
        elif kind in ("message", "agent_message", "text_chunk"):
            self.deltas += 1


async def _with_faults(run: Run) -> AsyncGenerator[Event, None]:
    """The run's events with the app's faults applied.

    A fault at N fires when an (N+1)th event is due, in its place: a script shorter than
    N events ends normally. `silent_after` wins over `fail_after` at the same count.
    """
    spec = run.spec
    if spec.first_event_delay:
        await asyncio.sleep(spec.first_event_delay)
    sent = 0
    progress = _Progress()
    async with aclosing(scripts.stream(run)) as script:
        async for event in script:
            if spec.silent_after is not None and sent >= spec.silent_after:
                await _forever()
            if spec.fail_after is not None and sent >= spec.fail_after:
                for fault_event in _fault_events(run, progress):
                    yield fault_event
                return
            progress.see(event)
            yield event
            sent += 1


def _fault_events(run: Run, progress: _Progress) -> list[Event]:
    """How the run ends when its fault fires (see `AppSpec.fail_as`)."""
    spec = run.spec
    if spec.fail_as == "invocation":
        raise AppCallError.transport(spec.fail_message)
    if spec.fail_as == "event":
        return [run.error_event(events.error_fields(spec.fail_kind, spec.fail_message))]
    tokens = run.prompt_tokens + progress.deltas
    if spec.fail_as == "stop":
        ended: list[Event] = []
        if spec.mode in WORKFLOW_MODES:
            ended.append(_run_end(run, progress, tokens, status="stopped", error=events.STOPPED_BY_USER))
        if run.message is not None:
            ended.append(events.message_end(run.message, run.usage(progress.deltas)))
        return ended
    # fail_as == "workflow": the running node fails, and with it the run
    ctx = run.workflow_context()
    failed = [
        events.node_finished(ctx, NodeRun.of_started(data, started), {}, status="failed", error=spec.fail_message)
        for data, started in progress.open_nodes.values()
    ]
    # Dify 1.13.2 counts the failed node among the run's exceptions (recorded: inner_wf_fail_stream)
    progress.exceptions += len(failed)
    failed.append(_run_end(run, progress, tokens, status="failed", error=spec.fail_message))
    if run.message is not None:
        # a chatflow then reports the failure as an error (advanced_chat/generate_task_pipeline.py)
        failed.append(run.error_event(events.error_fields("value_error", f"Run failed: {spec.fail_message}")))
    return failed


def _run_end(run: Run, progress: _Progress, tokens: int, *, status: str, error: str) -> Event:
    return events.workflow_finished(
        run.workflow_context(),
        {},
        total_tokens=tokens,
        total_steps=progress.steps,
        status=status,
        error=error,
        exceptions_count=progress.exceptions,
    )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def _forever() -> None:
    """Wait until cancelled: an app that stopped sending without ending."""
    await asyncio.get_running_loop().create_future()


async def _blocking_response(mode: str, message: MessageContext | None, stream: AsyncIterator[Event]) -> Event:
    """Dify's blocking response, built from the run's stream.

    An `error` event is re-raised the way Dify's blocking pipelines do it, inside the
    request: a ValueError is 400 `invalid_param` with its text, anything else (a model
    error included) Dify's generic 500. A failed workflow run is no error: its result
    says `failed`.
    """
    collected: list[Event] = []
    async for event in stream:
        if event["event"] == "error":
            if event["code"] == "invalid_param":
                raise AppCallError.invalid_param(event["message"])
            raise AppCallError.server_error(event["message"])
        collected.append(event)
    if mode == "workflow":
        return events.workflow_blocking(_last(collected, "workflow_finished"))
    if message is None:
        raise RuntimeError(f"a {mode} run has no message")
    answer = "".join(e["answer"] for e in collected if e["event"] in ("message", "agent_message"))
    replaced = [e["answer"] for e in collected if e["event"] == "message_replace"]
    if replaced:
        answer = replaced[-1]
    usage = _last(collected, "message_end")["metadata"]["usage"]
    if mode == "completion":
        return events.completion_blocking(message, answer, usage)
    return events.chat_blocking(message, mode, answer, usage)


def _last(collected: list[Event], kind: str) -> Event:
    for event in reversed(collected):
        if event["event"] == kind:
            return event
    raise AssertionError(f"script ended without a {kind} event")
