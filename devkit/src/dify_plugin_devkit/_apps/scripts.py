"""The scripted behaviours of the demo apps: the events one run streams, in Dify's order.

The app's `script` decides the TEXT of the answer (echo the query, or a fixed answer with
`{{var}}` placeholders); the app's `mode` decides the SHAPE of the stream, the way Dify's
generators for each mode do. Faults (delays before the first event, failures, silence)
are not applied here but by the backend around these streams, so that they work the
same for every mode.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import events
from .events import Event, MessageContext, NodeRun, WorkflowContext
from .spec import PLACEHOLDER, AppSpec, NodeSpec

#: A token is a word with the whitespace before it; a final run of whitespace is its own
#: token. Joining the tokens gives back the exact text.
_TOKEN = re.compile(r"\s*\S+|\s+")

Inputs = Mapping[str, str | None]


def tokenize(text: str) -> list[str]:
    """Split text into the deltas it streams as ("Hi there" -> ["Hi", " there"])."""
    return _TOKEN.findall(text)


def render_text(spec: AppSpec, query: str, inputs: Inputs, turn: int) -> str:
    """The full answer of one run (what the deltas join to)."""
    if spec.script == "echo":
        return f"Turn {turn}: {query}"
    template = spec.answer or ""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in inputs:
            return inputs[name] or ""
        if name == "query":
            return query
        return match.group(0)

    return PLACEHOLDER.sub(fill, template)


@dataclass(frozen=True)
class Run:
    """Everything one app call's events are built from, fixed before the first event.

    Fixing ids up front lets the backend build an `error` event that belongs to the same
    message or workflow run as the events already sent.
    """

    spec: AppSpec
    query: str
    inputs: Inputs
    text: str
    message: MessageContext | None
    workflow: WorkflowContext | None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def plan(cls, spec: AppSpec, *, query: str, inputs: Inputs, turn: int, conversation_id: str) -> Run:
        """A run of `spec`. Completion apps get a fresh conversation id, as Dify's do."""
        message = None
        if spec.mode != "workflow":
            message = MessageContext.start(conversation_id or events.new_id())
        workflow = None
        if spec.mode in ("workflow", "advanced-chat"):
            workflow = WorkflowContext.start(spec.id, inputs, message)
        return cls(
            spec=spec,
            query=query,
            inputs=dict(inputs),
            text=render_text(spec, query, inputs, turn),
            message=message,
            workflow=workflow,
        )

    @property
    def tokens(self) -> list[str]:
        return tokenize(self.text)

    @property
    def prompt_tokens(self) -> int:
        """A stand-in count: the words of the query and of the input values."""
        words = [self.query, *(value or "" for value in self.inputs.values())]
        return sum(len(w.split()) for w in words)

    def usage(self) -> dict[str, Any]:
        return events.usage(self.prompt_tokens, len(self.tokens), time.monotonic() - self.started)

    def message_context(self) -> MessageContext:
        """The run's message: every mode but workflow runs one."""
        if self.message is None:
            raise RuntimeError(f"a {self.spec.mode} run has no message")
        return self.message

    def workflow_context(self) -> WorkflowContext:
        """The run's workflow: workflow and advanced-chat runs have one."""
        if self.workflow is None:
            raise RuntimeError(f"a {self.spec.mode} run has no workflow")
        return self.workflow

    def error_event(self, text: str) -> Event:
        """Dify's in-stream `error` event for this run (a run has a message, a workflow, or both)."""
        if self.message is not None:
            return events.message_error(self.message, text)
        return events.workflow_error(self.workflow_context(), text)


def stream(run: Run) -> AsyncGenerator[Event, None]:
    """The events of one run, shaped by the app's mode."""
    streams: dict[str, Callable[[Run], AsyncGenerator[Event, None]]] = {
        "chat": _chat,
        "completion": _chat,
        "agent-chat": _agent_chat,
        "advanced-chat": _advanced_chat,
        "workflow": _workflow,
    }
    return streams[run.spec.mode](run)


async def _paced(run: Run) -> AsyncIterator[str]:
    """The answer's tokens, `token_delay` apart (no pause before the first one)."""
    for index, token in enumerate(run.tokens):
        if index and run.spec.token_delay:
            await asyncio.sleep(run.spec.token_delay)
        yield token


async def _chat(run: Run) -> AsyncGenerator[Event, None]:
    """chat and completion: `message` per token, then `message_end`."""
    ctx = run.message_context()
    async for delta in _paced(run):
        yield events.message(ctx, delta)
    yield events.message_end(ctx, run.usage())


async def _agent_chat(run: Run) -> AsyncGenerator[Event, None]:
    """agent-chat: an empty thought, `agent_message` per token, the thought filled in, end."""
    ctx = run.message_context()
    thought_id = events.new_id()
    yield events.agent_thought(ctx, thought_id, 1, "")
    async for delta in _paced(run):
        yield events.agent_message(ctx, delta)
    yield events.agent_thought(ctx, thought_id, 1, run.text)
    yield events.message_end(ctx, run.usage())


async def _advanced_chat(run: Run) -> AsyncGenerator[Event, None]:
    """advanced-chat (chatflow): the graph, with `message`s during the llm node, then end."""
    ctx = run.message_context()
    async for event in _graph(run, lambda _node_id, delta: events.message(ctx, delta)):
        yield event
    yield events.message_end(ctx, run.usage())


async def _workflow(run: Run) -> AsyncGenerator[Event, None]:
    """workflow: the graph, with `text_chunk`s during the llm node."""
    ctx = run.workflow_context()
    async for event in _graph(run, lambda node_id, delta: events.text_chunk(ctx, node_id, delta)):
        yield event


async def _graph(run: Run, delta_event: Callable[[str, str], Event]) -> AsyncIterator[Event]:
    """workflow_started, started/finished per node, workflow_finished.

    The answer streams while the first `llm` node runs; `delta_event(node_id, delta)`
    makes the event for each piece.
    """
    ctx = run.workflow_context()
    nodes = run.spec.effective_nodes
    yield events.workflow_started(ctx)
    predecessor: str | None = None
    streamed = False
    for index, node in enumerate(nodes, start=1):
        node_inputs, outputs = _node_io(run, node)
        node_run = NodeRun.start(node.id, node.type, node.title, index, predecessor, node_inputs)
        yield events.node_started(ctx, node_run)
        if node.type == "llm" and not streamed:
            streamed = True
            async for delta in _paced(run):
                yield delta_event(node.id, delta)
        yield events.node_finished(ctx, node_run, outputs)
        predecessor = node.id
    outputs_key = "answer" if run.spec.mode == "advanced-chat" else "text"
    yield events.workflow_finished(
        ctx,
        {outputs_key: run.text},
        total_tokens=run.prompt_tokens + len(run.tokens),
        total_steps=len(nodes),
    )


def _node_io(run: Run, node: NodeSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a node of each type takes and gives, roughly as in Dify's node run records."""
    if node.type == "start":
        start = dict(run.inputs)
        if run.spec.mode == "advanced-chat":
            start["sys.query"] = run.query
        return start, start
    if node.type in ("llm", "end"):
        return {}, {"text": run.text}
    if node.type == "answer":
        return {}, {"answer": run.text}
    return {}, {}
