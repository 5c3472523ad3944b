"""The scripted behaviours of the demo apps: the events one run streams, in Dify's order.

The app's `script` decides the TEXT of the answer (echo the query, or a fixed answer with
`{{var}}` placeholders); the app's `mode` decides the SHAPE of the stream, the way Dify's
generators for each mode do; the app's extra knobs add the events real apps send around
it (`message_files`, `replace_with`, `tts`, and per node `retries`, `rounds`, `status`,
agent logs). Faults (delays before the first event, failures, silence) are not applied
here but by the backend around these streams, so that they work the same for every mode.
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
from .inputs import render_value, to_event_value
from .spec import PLACEHOLDER, ROUND_NODE_TYPES, AppSpec, NodeSpec

#: A token is a word with the whitespace before it; a final run of whitespace is its own
#: token. Joining the tokens gives back the exact text.
_TOKEN = re.compile(r"\s*\S+|\s+")

#: The inputs of a run, checked: strings, numbers, booleans, files (InputFile), lists of files.
Inputs = Mapping[str, Any]


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
            return render_value(inputs[name])
        if name == "query":
            return query
        if name == "turn":
            return str(turn)
        return match.group(0)

    return PLACEHOLDER.sub(fill, template)


def render_outputs(spec: AppSpec, inputs: Inputs, answer: str) -> dict[str, Any]:
    """A workflow run's outputs: the app's `outputs` filled in, else `{"text": answer}`."""
    if spec.outputs is None:
        return {"text": answer}
    values = {**{name: to_event_value(value) for name, value in inputs.items()}, "answer": answer}

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            alone = PLACEHOLDER.fullmatch(value)
            if alone is not None and alone.group(1) in values:
                return values[alone.group(1)]  # "{{count}}": the number itself, not its text
            return PLACEHOLDER.sub(
                lambda m: answer if m.group(1) == "answer" else render_value(inputs.get(m.group(1))), value
            )
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    return {name: fill(value) for name, value in spec.outputs.items()}


@dataclass(frozen=True)
class Run:
    """Everything one app call's events are built from, fixed before the first event.

    Fixing ids up front lets the backend build the events of a fault (an `error` event,
    a failed node) that belong to the same message or workflow run as those already sent.
    """

    spec: AppSpec
    query: str
    inputs: Inputs
    text: str
    message: MessageContext | None
    workflow: WorkflowContext | None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def plan(cls, spec: AppSpec, *, query: str, inputs: Inputs, turn: int, conversation_id: str | None) -> Run:
        """A run of `spec`; `conversation_id` for chat-type apps only."""
        message = None
        if spec.mode != "workflow":
            message = MessageContext.start(conversation_id if spec.is_chat else None)
        workflow = None
        if spec.mode in ("workflow", "advanced-chat"):
            event_inputs = {name: to_event_value(value) for name, value in inputs.items()}
            workflow = WorkflowContext.start(spec.id, event_inputs, message, query=query, turn=turn)
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
    def answer(self) -> str:
        """The answer the message ends with (output moderation may replace the streamed one)."""
        return self.spec.replace_with if self.spec.replace_with is not None else self.text

    @property
    def prompt_tokens(self) -> int:
        """A stand-in count: the words of the query and of the input values."""
        words = [self.query, *(render_value(value) for value in self.inputs.values())]
        return sum(len(w.split()) for w in words)

    def usage(self, completion_tokens: int | None = None) -> dict[str, Any]:
        sent = len(self.tokens) if completion_tokens is None else completion_tokens
        return events.usage(self.prompt_tokens, sent, time.monotonic() - self.started)

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

    def error_event(self, fields: Mapping[str, Any]) -> Event:
        """Dify's in-stream `error` event for this run (chat-shaped when it has a message)."""
        if self.message is not None:
            return events.message_error(self.message, fields)
        return events.workflow_error(self.workflow_context(), fields)


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


def _message_extras(run: Run) -> list[Event]:
    """What a message sends between its answer and `message_end`: files, then a replacement."""
    ctx = run.message_context()
    extras = [events.message_file(ctx, events.new_id(), f.type, f.url) for f in run.spec.message_files]
    if run.spec.replace_with is not None:
        extras.append(events.message_replace(ctx, run.spec.replace_with))
    return extras


def _tts(run: Run, ctx: WorkflowContext | MessageContext) -> list[Event]:
    """The answer's speech (one piece), when the app speaks (`tts`)."""
    return [events.tts_message(ctx, events.tts_audio(run.text))] if run.spec.tts else []


def _tts_end(run: Run, ctx: WorkflowContext | MessageContext) -> list[Event]:
    """Dify sends `tts_message_end` after everything else."""
    return [events.tts_message_end(ctx)] if run.spec.tts else []


async def _chat(run: Run) -> AsyncGenerator[Event, None]:
    """chat and completion: `message` per token, then `message_end`."""
    ctx = run.message_context()
    async for delta in _paced(run):
        yield events.message(ctx, delta)
    for event in [*_tts(run, ctx), *_message_extras(run), events.message_end(ctx, run.usage()), *_tts_end(run, ctx)]:
        yield event


async def _agent_chat(run: Run) -> AsyncGenerator[Event, None]:
    """agent-chat: an empty thought, `agent_message` per token, the thought filled in, end."""
    ctx = run.message_context()
    thought_id = events.new_id()
    yield events.agent_thought(ctx, thought_id, 1, "")
    async for delta in _paced(run):
        yield events.agent_message(ctx, delta)
    yield events.agent_thought(ctx, thought_id, 1, run.text)
    for event in [*_tts(run, ctx), *_message_extras(run), events.message_end(ctx, run.usage()), *_tts_end(run, ctx)]:
        yield event


async def _advanced_chat(run: Run) -> AsyncGenerator[Event, None]:
    """advanced-chat (chatflow): the graph, with `message`s during the llm node, then end."""
    ctx = run.message_context()
    async for event in _graph(run, lambda node_id, delta: events.message(ctx, delta, [node_id, "text"])):
        if event["event"] == "workflow_finished":
            # Dify 1.13.2 ends the message before the run (recorded: inner_chat_stream_new)
            for extra in [*_message_extras(run), events.message_end(ctx, run.usage())]:
                yield extra
        yield event
    for event in _tts_end(run, ctx):
        yield event


async def _workflow(run: Run) -> AsyncGenerator[Event, None]:
    """workflow: the graph, with `text_chunk`s during the llm node."""
    ctx = run.workflow_context()
    async for event in _graph(run, lambda node_id, delta: events.text_chunk(ctx, node_id, delta)):
        yield event
    for event in _tts_end(run, ctx):
        yield event


async def _graph(run: Run, delta_event: Callable[[str, str], Event]) -> AsyncIterator[Event]:
    """workflow_started, each node with what its knobs add, workflow_finished.

    The answer streams while the first succeeding `llm` node runs; `delta_event(node_id,
    delta)` makes the event for each piece. Nodes ending in `exception` make the run end
    `partial-succeeded`.
    """
    ctx = run.workflow_context()
    nodes = run.spec.effective_nodes
    yield events.workflow_started(ctx)
    streamed = False
    exceptions = 0
    for node in nodes:
        node_inputs, outputs = _node_io(run, node)
        # Dify 1.13.2 reports every node with index 1 and no predecessor (recorded: inner_wf_stream_good)
        node_run = NodeRun.start(node.id, node.type, node.title, 1, None, node_inputs)
        yield events.node_started(ctx, node_run)
        for attempt in range(1, node.retries + 1):
            yield events.node_retry(ctx, node_run, node.error_text, attempt)
        if node.type in ROUND_NODE_TYPES:
            async for event in _rounds(ctx, node_run, node):
                yield event
        if node.type == "agent":
            for event in _agent_logs(run, ctx, node_run):
                yield event
        if node.type == "llm" and node.status == "succeeded" and not streamed:
            streamed = True
            async for delta in _paced(run):
                yield delta_event(node.id, delta)
            for event in _tts(run, ctx):
                yield event
        if node.status == "exception":
            exceptions += 1
            error_outputs = {"error_message": node.error_text, "error_type": "DevkitSimulatedError"}
            yield events.node_finished(ctx, node_run, error_outputs, status="exception", error=node.error_text)
        else:
            yield events.node_finished(ctx, node_run, outputs)
    if run.spec.mode == "advanced-chat":
        final: dict[str, Any] = {"answer": run.text}
    else:
        final = render_outputs(run.spec, run.inputs, run.text)
    yield events.workflow_finished(
        ctx,
        final,
        total_tokens=run.prompt_tokens + len(run.tokens),
        total_steps=len(nodes),
        status="partial-succeeded" if exceptions else "succeeded",
        exceptions_count=exceptions,
    )


async def _rounds(ctx: WorkflowContext, node_run: NodeRun, node: NodeSpec) -> AsyncIterator[Event]:
    """An iteration or loop node's rounds: `<type>_started`, `<type>_next` per round, `<type>_completed`."""
    rounds = node.effective_rounds
    yield events.round_started(ctx, node_run, rounds)
    results: list[str] = []
    for round_index in range(rounds):
        yield events.round_next(ctx, node_run, round_index, results[-1] if results else None)
        results.append(f"{node.title} round {round_index + 1}")
    yield events.round_completed(ctx, node_run, {"output": results}, rounds)


def _agent_logs(run: Run, ctx: WorkflowContext, node_run: NodeRun) -> list[Event]:
    """An agent node's strategy log: its one round, started then finished."""
    log_id = events.new_id()
    return [
        events.agent_log(ctx, node_run, log_id, "ROUND 1", "start", {}),
        events.agent_log(ctx, node_run, log_id, "ROUND 1", "success", {"output": run.text}),
    ]


def _node_io(run: Run, node: NodeSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a node of each type takes and gives, roughly as in Dify's node run records."""
    if node.type == "start":
        start = run.workflow_context().start_node_variables()
        return start, start
    if node.type == "end" and run.spec.mode == "workflow":
        return {}, render_outputs(run.spec, run.inputs, run.text)  # the End node gives the run's outputs
    if node.type in ("llm", "end", "agent"):
        return {}, {"text": run.text}
    if node.type == "answer":
        return {}, {"answer": run.text}
    if node.type in ROUND_NODE_TYPES:
        return {}, {"output": [f"{node.title} round {i + 1}" for i in range(node.effective_rounds)]}
    return {}, {}
