"""A `tools/call`: the app runs through `provider.apps.AppCall` (streaming, the same code
as /workflow and /duck), its events become progress messages, and at the end one MCP
tool result.

Results: the answer text as `content`; workflow outputs as `structuredContent` (a chat
answer as `{answer, conversation_id}`, with the `conversation_id` also in `content` so
a model that reads only text can continue the conversation). An app that fails — a
refused call, an `error` event, a workflow run that ends `failed` or `stopped`, a stream
cut by the platform — gives `isError: true` with a readable message; protocol errors
are for protocol mistakes only.

Limits: Dify's daemon cuts an app stream 240 s after it opens
(`DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT`, /work/shared/dify-protocol.md §7); a call
still running at `DEADLINE_SECONDS` ends before that with a clear error, and the app's
silences are watched with `pacing.keepalive_batches` (the kit's one keep-alive) so that the deadline is kept even
when the app sends nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from provider.apps import AppCall, RunEnd
from provider.errors import AppFailed
from provider.pacing import KEEPALIVE, KeepAlive, keepalive_batches

#: Under the daemon's 240 s cut of app streams, so that our message arrives instead.
DEADLINE_SECONDS: Final = 230.0
#: How often a silent app's deadline is looked at.
CHECK_SECONDS: Final = 5.0


def error_result(message: str) -> dict[str, Any]:
    """A tool result that reports a failure to the model (and the person)."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


@dataclass(frozen=True)
class Progress:
    """A progress message for `notifications/progress` (`progress` counts up from 1)."""

    progress: int
    message: str


@dataclass
class Collected:
    """What the app's events have said so far."""

    kind: str
    answer: str = ""
    conversation_id: str | None = None
    #: the run's `workflow_finished` (a workflow app's, or the run behind a chatflow's answer)
    run_end: RunEnd | None = None
    error: str | None = None
    steps: int = field(default=0)

    def feed(self, event: dict[str, Any]) -> str | None:
        """Take one app event; the progress message it is worth (None: none)."""
        name = event.get("event")
        data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
        if isinstance(event.get("conversation_id"), str) and event["conversation_id"]:
            self.conversation_id = event["conversation_id"]
        if name in ("message", "agent_message"):
            delta = str(event.get("answer") or "")
            self.answer += delta
            return delta or None
        if name == "message_replace":
            self.answer = str(event.get("answer") or "")
            return "The answer was replaced (output moderation)."
        if name == "text_chunk":
            text = str(data.get("text") or "")
            if self.kind == "workflow":
                self.answer += text
            return text or None
        if name == "workflow_started":
            return "Workflow started."
        if name in ("node_started", "node_finished"):
            title = data.get("title") or data.get("node_type") or "a node"
            if name == "node_started":
                return f"Node started: {title}"
            return f"Node finished: {title} ({data.get('status') or 'done'})"
        if name == "workflow_finished":
            self.run_end = RunEnd.of(data)
            return f"Workflow {self.run_end.status or 'finished'}."
        if name == "error":
            self.error = str(event.get("message") or "The app reported an error.")
        return None

    def result(self) -> dict[str, Any]:
        """The tool result for everything fed."""
        if self.error is not None:
            return error_result(f"The app failed: {self.error}")
        if self.kind == "workflow":
            return self._workflow_result()
        if self.run_end is not None and not self.run_end.usable:  # a chatflow's run
            return error_result(f"The app's run ended {self.run_end.status}: {_reason(self.run_end.error)}")
        content = [{"type": "text", "text": self.answer}]
        structured: dict[str, Any] = {"answer": self.answer}
        if self.kind == "chat" and self.conversation_id:
            structured["conversation_id"] = self.conversation_id
            content.append({"type": "text", "text": f"conversation_id: {self.conversation_id}"})
        return {"content": content, "structuredContent": structured, "isError": False}

    def _workflow_result(self) -> dict[str, Any]:
        if self.run_end is None:
            return error_result("The workflow ended without a result.")
        if not self.run_end.usable:
            return error_result(f"The workflow run ended {self.run_end.status}: {_reason(self.run_end.error)}")
        outputs = dict(self.run_end.outputs)
        texts = [value for value in outputs.values() if isinstance(value, str)]
        text = texts[0] if len(outputs) == 1 and texts else json.dumps(outputs, ensure_ascii=False)
        return {"content": [{"type": "text", "text": text}], "structuredContent": outputs, "isError": False}


def _reason(error: str | None) -> str:
    """Dify's error text as the end of a sentence (it may end with its own period)."""
    return (error or "no reason given").rstrip(". ") + "."


Step = Progress | Literal[KeepAlive.KEEPALIVE] | dict[str, Any]


def run(call: AppCall, keepalive_seconds: float, deadline_seconds: float = DEADLINE_SECONDS) -> Iterator[Step]:
    """Run `call`: a `Progress` per event worth one, `KEEPALIVE` after each silence of
    `keepalive_seconds`, and last the tool result (a dict). Never raises AppFailed:
    a failure is the result."""
    started = last_sent = time.monotonic()
    collected = Collected(kind=call.kind)
    count = 0
    # the deadline is checked at least every CHECK_SECONDS, whatever the keep-alive interval
    try:
        for batch in keepalive_batches(call.stream(), min(keepalive_seconds, CHECK_SECONDS)):
            now = time.monotonic()
            if now - started > deadline_seconds:
                yield error_result(
                    f"The app did not finish within {deadline_seconds:g} s, the longest Dify lets a plugin wait "
                    "for an app (its stream is cut at 240 s); the call was stopped. Try a shorter task."
                )
                return
            if batch is KEEPALIVE:
                if now - last_sent >= keepalive_seconds:
                    last_sent = now
                    yield KEEPALIVE
                continue
            for event in batch:
                message = collected.feed(event)
                if message:
                    count += 1
                    last_sent = now
                    yield Progress(count, message)
    except AppFailed as failure:
        yield error_result(failure.message)
        return
    yield collected.result()
