"""Builders of the event dicts Dify's Service API streams, and of its blocking responses.

Every dict the demo apps send is made here, so that the shapes live in one place and can
be compared with Dify's docs line by line. Ids (uuid4 strings) and timestamps (unix ints)
are made here too. Chat-type events carry `task_id`, `message_id`, `conversation_id` and
`created_at` on every event, as Dify's response converter adds them to each chunk; in
message events `id` is the message id, as in Dify.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

Event = dict[str, Any]

#: Dify's code and status for an app that failed while running.
ERROR_STATUS = 500
ERROR_CODE = "internal_server_error"

_WORKFLOW_NAMESPACE = uuid.UUID("5b0e5f0c-3c1e-4d0a-9a59-6d1e7c0a2f11")


def new_id() -> str:
    """A fresh id, as Dify makes them (uuid4 string)."""
    return str(uuid.uuid4())


def now() -> int:
    """Dify's timestamps: unix seconds."""
    return int(time.time())


def workflow_id_for(app_id: str) -> str:
    """A published workflow's id is stable for an app, unlike run ids."""
    return str(uuid.uuid5(_WORKFLOW_NAMESPACE, app_id))


# --- messages (chat, agent-chat, advanced-chat, completion) -------------------------


@dataclass(frozen=True)
class MessageContext:
    """The ids one message (one chat turn or completion) carries on all its events."""

    task_id: str
    message_id: str
    conversation_id: str
    created_at: int

    @classmethod
    def start(cls, conversation_id: str) -> Self:
        return cls(task_id=new_id(), message_id=new_id(), conversation_id=conversation_id, created_at=now())

    def envelope(self, event: str) -> Event:
        return {
            "event": event,
            "task_id": self.task_id,
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "created_at": self.created_at,
        }


def usage(prompt_tokens: int, completion_tokens: int, latency: float) -> dict[str, Any]:
    """`metadata.usage` of `message_end` and blocking responses (the price is zero: no model)."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "total_price": "0",
        "currency": "USD",
        "latency": round(latency, 3),
    }


def message(ctx: MessageContext, delta: str) -> Event:
    """One streamed piece of the answer (`answer` is the delta, not the text so far)."""
    return {**ctx.envelope("message"), "id": ctx.message_id, "answer": delta}


def agent_message(ctx: MessageContext, delta: str) -> Event:
    """An agent app's streamed piece of the answer; same fields as `message`."""
    return {**ctx.envelope("agent_message"), "id": ctx.message_id, "answer": delta}


def agent_thought(ctx: MessageContext, thought_id: str, position: int, thought: str) -> Event:
    """An agent step; Dify re-sends the same thought id as the step fills in."""
    return {
        **ctx.envelope("agent_thought"),
        "id": thought_id,
        "position": position,
        "thought": thought,
        "observation": "",
        "tool": "",
        "tool_input": "",
        "message_files": [],
    }


def message_end(ctx: MessageContext, usage_: Mapping[str, Any]) -> Event:
    """The last event of a message: usage and (none here) retriever resources and files."""
    return {
        **ctx.envelope("message_end"),
        "id": ctx.message_id,
        "metadata": {"usage": dict(usage_), "retriever_resources": []},
        "files": [],
    }


def message_error(ctx: MessageContext, text: str) -> Event:
    """How Dify reports, inside the stream, that a chat/completion run failed."""
    return {**ctx.envelope("error"), "status": ERROR_STATUS, "code": ERROR_CODE, "message": text}


def chat_blocking(ctx: MessageContext, mode: str, answer: str, usage_: Mapping[str, Any]) -> Event:
    """Dify's blocking response of a chat-type app."""
    return {
        "event": "message",
        "task_id": ctx.task_id,
        "id": ctx.message_id,
        "message_id": ctx.message_id,
        "conversation_id": ctx.conversation_id,
        "mode": mode,
        "answer": answer,
        "metadata": {"usage": dict(usage_), "retriever_resources": []},
        "created_at": ctx.created_at,
    }


def completion_blocking(ctx: MessageContext, answer: str, usage_: Mapping[str, Any]) -> Event:
    """Dify's blocking response of a completion app (no conversation)."""
    return {
        "event": "message",
        "task_id": ctx.task_id,
        "id": ctx.message_id,
        "message_id": ctx.message_id,
        "mode": "completion",
        "answer": answer,
        "metadata": {"usage": dict(usage_)},
        "created_at": ctx.created_at,
    }


# --- workflows (workflow, advanced-chat) --------------------------------------------


@dataclass(frozen=True)
class WorkflowContext:
    """The ids one workflow run carries. `envelope` adds a chatflow's message fields."""

    task_id: str
    workflow_run_id: str
    workflow_id: str
    created_at: int
    inputs: Mapping[str, Any]
    started: float = field(default_factory=time.monotonic)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        app_id: str,
        inputs: Mapping[str, Any],
        message: MessageContext | None = None,
    ) -> Self:
        """A run; for a chatflow pass its message so both share task id and fields."""
        task_id = message.task_id if message else new_id()
        extra: dict[str, Any] = {}
        if message:
            extra = {
                "message_id": message.message_id,
                "conversation_id": message.conversation_id,
                "created_at": message.created_at,
            }
        return cls(
            task_id=task_id,
            workflow_run_id=new_id(),
            workflow_id=workflow_id_for(app_id),
            created_at=now(),
            inputs=dict(inputs),
            extra=extra,
        )

    def envelope(self, event: str) -> Event:
        return {
            "event": event,
            "task_id": self.task_id,
            "workflow_run_id": self.workflow_run_id,
            **self.extra,
        }


@dataclass(frozen=True)
class NodeRun:
    """One execution of one node; `node_started` and `node_finished` share its id."""

    id: str
    node_id: str
    node_type: str
    title: str
    index: int
    predecessor_node_id: str | None
    inputs: Mapping[str, Any]
    created_at: int
    started: float

    @classmethod
    def start(
        cls,
        node_id: str,
        node_type: str,
        title: str,
        index: int,
        predecessor_node_id: str | None,
        inputs: Mapping[str, Any],
    ) -> Self:
        return cls(
            id=new_id(),
            node_id=node_id,
            node_type=node_type,
            title=title,
            index=index,
            predecessor_node_id=predecessor_node_id,
            inputs=dict(inputs),
            created_at=now(),
            started=time.monotonic(),
        )

    def data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": self.node_id,
            "node_type": self.node_type,
            "title": self.title,
            "index": self.index,
            "predecessor_node_id": self.predecessor_node_id,
            "inputs": dict(self.inputs),
            "created_at": self.created_at,
        }


def workflow_started(ctx: WorkflowContext) -> Event:
    return {
        **ctx.envelope("workflow_started"),
        "data": {
            "id": ctx.workflow_run_id,
            "workflow_id": ctx.workflow_id,
            "inputs": dict(ctx.inputs),
            "created_at": ctx.created_at,
        },
    }


def node_started(ctx: WorkflowContext, node: NodeRun) -> Event:
    return {**ctx.envelope("node_started"), "data": node.data()}


def node_finished(ctx: WorkflowContext, node: NodeRun, outputs: Mapping[str, Any]) -> Event:
    return {
        **ctx.envelope("node_finished"),
        "data": {
            **node.data(),
            "outputs": dict(outputs),
            "status": "succeeded",
            "error": None,
            "elapsed_time": round(time.monotonic() - node.started, 6),
            "execution_metadata": {},
            "finished_at": now(),
        },
    }


def text_chunk(ctx: WorkflowContext, node_id: str, delta: str) -> Event:
    """A workflow's streamed piece of output text, tagged with the variable it belongs to."""
    return {
        **ctx.envelope("text_chunk"),
        "data": {"text": delta, "from_variable_selector": [node_id, "text"]},
    }


def workflow_finished(ctx: WorkflowContext, outputs: Mapping[str, Any], total_tokens: int, total_steps: int) -> Event:
    return {
        **ctx.envelope("workflow_finished"),
        "data": {
            "id": ctx.workflow_run_id,
            "workflow_id": ctx.workflow_id,
            "status": "succeeded",
            "outputs": dict(outputs),
            "error": None,
            "elapsed_time": round(time.monotonic() - ctx.started, 6),
            "total_tokens": total_tokens,
            "total_steps": total_steps,
            "created_at": ctx.created_at,
            "finished_at": now(),
        },
    }


def workflow_error(ctx: WorkflowContext, text: str) -> Event:
    """How Dify reports, inside the stream, that a workflow run failed."""
    return {**ctx.envelope("error"), "status": ERROR_STATUS, "code": ERROR_CODE, "message": text}


def workflow_blocking(finished: Mapping[str, Any]) -> Event:
    """Dify's blocking response of a workflow app, from its `workflow_finished` event."""
    return {
        "task_id": finished["task_id"],
        "workflow_run_id": finished["workflow_run_id"],
        "data": dict(finished["data"]),
    }


# --- app info (fetch_app) -----------------------------------------------------------


def app_parameters(variables: list[tuple[str, bool]]) -> dict[str, Any]:
    """Dify's app parameters (what `fetch_app` answers under `data`), features all off.

    `variables` are (name, required) of the app's text inputs, in form order.
    """
    features = (
        "suggested_questions_after_answer",
        "speech_to_text",
        "text_to_speech",
        "retriever_resource",
        "annotation_reply",
        "more_like_this",
        "sensitive_word_avoidance",
    )
    return {
        "opening_statement": "",
        "suggested_questions": [],
        **{feature: {"enabled": False} for feature in features},
        "file_upload": {"image": {"enabled": False}},
        "user_input_form": [
            {"text-input": {"label": name, "variable": name, "required": required, "default": ""}}
            for name, required in variables
        ],
    }
