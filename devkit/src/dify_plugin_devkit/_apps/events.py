"""Builders of the event dicts Dify's Service API streams, and of its blocking responses.

Every dict the demo apps send is made here, so that the shapes live in one place and can
be compared with Dify line by line: the `*StreamResponse` models of
api/core/app/entities/task_entities.py, wrapped as each mode's response converter does
(api/core/app/apps/*/generate_response_converter.py):

- chat, agent-chat, advanced-chat: `event`, `conversation_id`, `message_id`,
  `created_at`, then the model's fields (`task_id`, ...);
- completion: the same without `conversation_id`;
- workflow: `event`, `workflow_run_id`, then the model's fields;
- `error` events carry the converter's fields and `code`, `status`, `message` only (no
  `task_id`): `_error_to_stream_response` of base_app_generate_response_converter.py.

Ids (uuid4 strings) and timestamps (unix ints) are made here too.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from .spec import FILE_VARIABLE_TYPES, AppSpec, VariableSpec

Event = dict[str, Any]

#: `_error_to_stream_response`: what each kind of exception becomes in a stream.
#: (code, status); `None` as message means the exception's own text.
ERROR_EVENT_FIELDS: dict[str, tuple[str, int, str | None]] = {
    "value_error": ("invalid_param", 400, None),
    "model_error": ("completion_request_error", 400, None),
    "internal_error": ("internal_server_error", 500, "Internal Server Error, please contact support."),
}
#: QueueStopEvent.get_stop_reason() for a stop by the app's user.
STOPPED_BY_USER = "Stopped by user."

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


def error_fields(kind: str, text: str) -> dict[str, Any]:
    """`code`, `status`, `message` of an in-stream error caused by an exception of `kind`."""
    code, status, fixed = ERROR_EVENT_FIELDS[kind]
    return {"code": code, "status": status, "message": fixed if fixed is not None else text}


# --- messages (chat, agent-chat, advanced-chat, completion) -------------------------


@dataclass(frozen=True)
class MessageContext:
    """The ids one message (one chat turn or completion) carries on all its events.

    `conversation_id` is None for completion apps: their events do not carry one.
    """

    task_id: str
    message_id: str
    conversation_id: str | None
    created_at: int

    @classmethod
    def start(cls, conversation_id: str | None) -> Self:
        return cls(task_id=new_id(), message_id=new_id(), conversation_id=conversation_id, created_at=now())

    def wrapper(self, event: str) -> Event:
        """The fields the response converter puts before every event of this message."""
        head: Event = {"event": event}
        if self.conversation_id is not None:
            head["conversation_id"] = self.conversation_id
        head["message_id"] = self.message_id
        head["created_at"] = self.created_at
        return head

    def envelope(self, event: str) -> Event:
        """The converter's fields plus the stream response's own `task_id`."""
        return {**self.wrapper(event), "task_id": self.task_id}


#: Who runs an app for a plugin: Dify's inner API answers with this end user when the
#: daemon sends no user id (recorded: `sys.user_id` and `created_by.user` of inner_*).
DEFAULT_USER = "DEFAULT-USER"
_DEFAULT_USER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "devkit:end-user:DEFAULT-USER"))


def usage(prompt_tokens: int, completion_tokens: int, latency: float) -> dict[str, Any]:
    """`metadata.usage` of `message_end` and blocking responses: LLMUsage as Dify 1.13.2
    sends it (prices are zero: no model; recorded: inner_chat_stream_new)."""
    return {
        "prompt_tokens": prompt_tokens,
        "prompt_unit_price": "0.0",
        "prompt_price_unit": "0.0",
        "prompt_price": "0.0",
        "completion_tokens": completion_tokens,
        "completion_unit_price": "0.0",
        "completion_price_unit": "0.0",
        "completion_price": "0.0",
        "total_tokens": prompt_tokens + completion_tokens,
        "total_price": "0.0",
        "currency": "USD",
        "latency": float(round(latency, 3)),
        "time_to_first_token": float(round(latency, 3)),
        "time_to_generate": 0.0,
    }


def metadata(usage_: Mapping[str, Any]) -> dict[str, Any]:
    """`metadata` of `message_end` and of a chat's blocking response."""
    return {"annotation_reply": None, "retriever_resources": [], "usage": dict(usage_)}


def message(ctx: MessageContext, delta: str, from_variable_selector: list[str] | None = None) -> Event:
    """One streamed piece of the answer (`answer` is the delta, not the text so far)."""
    return {
        **ctx.envelope("message"),
        "id": ctx.message_id,
        "answer": delta,
        "from_variable_selector": from_variable_selector,
    }


def agent_message(ctx: MessageContext, delta: str) -> Event:
    """An agent app's streamed piece of the answer."""
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
        "tool_labels": {},
        "tool_input": "",
        "message_files": [],
    }


def message_file(ctx: MessageContext, file_id: str, file_type: str, url: str) -> Event:
    """A file the app sends with its answer (MessageFileStreamResponse)."""
    return {**ctx.envelope("message_file"), "id": file_id, "type": file_type, "belongs_to": "assistant", "url": url}


def message_replace(ctx: MessageContext, answer: str) -> Event:
    """The whole answer replaced (output moderation: MessageReplaceStreamResponse)."""
    return {**ctx.envelope("message_replace"), "answer": answer, "reason": "output_moderation"}


def message_end(ctx: MessageContext, usage_: Mapping[str, Any]) -> Event:
    """The last event of a message: usage and (none here) retriever resources and files."""
    return {
        **ctx.envelope("message_end"),
        "id": ctx.message_id,
        "metadata": metadata(usage_),
        "files": [],
    }


def message_error(ctx: MessageContext, fields: Mapping[str, Any]) -> Event:
    """How Dify reports, inside a chat or completion stream, that the run failed."""
    return {**ctx.wrapper("error"), **fields}


def tts_audio(text: str) -> str:
    """Stand-in audio for `tts_message`: base64 like Dify's, but of the text, not of an mp3."""
    return base64.b64encode(text.encode()).decode()


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
        "metadata": metadata(usage_),
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
    """The ids one workflow run carries. A chatflow's events also carry its message's."""

    task_id: str
    workflow_run_id: str
    workflow_id: str
    created_at: int
    inputs: Mapping[str, Any]
    message: MessageContext | None = None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(
        cls,
        app_id: str,
        inputs: Mapping[str, Any],
        message: MessageContext | None = None,
        query: str = "",
        turn: int = 1,
    ) -> Self:
        """A run; for a chatflow pass its message (both share task id and fields), its
        query and turn number. `inputs` gets the `sys.*` variables appended."""
        run_id, workflow_id = new_id(), workflow_id_for(app_id)
        chat_query = query if message is not None else None
        return cls(
            task_id=message.task_id if message else new_id(),
            workflow_run_id=run_id,
            workflow_id=workflow_id,
            created_at=now(),
            inputs={**inputs, **system_inputs(app_id, workflow_id, run_id, chat_query, turn)},
            message=message,
        )

    def start_node_variables(self) -> dict[str, Any]:
        """The Start node's inputs and outputs (see `start_node_variables`)."""
        conversation_id = self.message.conversation_id if self.message is not None else None
        return start_node_variables(self.inputs, conversation_id, self.created_at)

    def wrapper(self, event: str) -> Event:
        """The converter's fields: a chatflow's message fields, a workflow's run id."""
        if self.message is not None:
            return self.message.wrapper(event)
        return {"event": event, "workflow_run_id": self.workflow_run_id}

    def envelope(self, event: str) -> Event:
        return {**self.wrapper(event), "task_id": self.task_id, "workflow_run_id": self.workflow_run_id}

    def plain(self, event: str) -> Event:
        """Events whose model has no `workflow_run_id` of its own (text_chunk, tts, agent_log)."""
        return {**self.wrapper(event), "task_id": self.task_id}


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

    @classmethod
    def of_started(cls, data: Mapping[str, Any], started: float) -> Self:
        """The node run a `node_started` event describes (to end it from outside its script)."""
        return cls(
            id=data["id"],
            node_id=data["node_id"],
            node_type=data["node_type"],
            title=data["title"],
            index=data["index"],
            predecessor_node_id=data["predecessor_node_id"],
            inputs=dict(data.get("inputs") or {}),
            created_at=data["created_at"],
            started=started,
        )

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 6)

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
            "reason": "initial",
        },
    }


def node_started(ctx: WorkflowContext, node: NodeRun) -> Event:
    """A node begins. Dify 1.13.2 sends no inputs yet (`inputs: null`; they come with
    node_finished) and an `agent_strategy` (null but on agent nodes)."""
    head = node.data()
    del head["created_at"]
    return {
        **ctx.envelope("node_started"),
        "data": {
            **head,
            "inputs": None,
            "inputs_truncated": False,
            "created_at": node.created_at,
            "extras": {},
            "iteration_id": None,
            "loop_id": None,
            "agent_strategy": None,
        },
    }


def _node_end_data(
    node: NodeRun,
    outputs: Mapping[str, Any] | None,
    status: str,
    error: str | None,
    process_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A finished node as Dify 1.13.2 sends it: `*_truncated` flags, `process_data` `{}`
    and `execution_metadata` null on plain nodes (recorded: inner_wf_stream_good)."""
    head = node.data()
    del head["created_at"]
    return {
        **head,
        "inputs_truncated": False,
        "process_data": dict(process_data or {}),
        "process_data_truncated": False,
        "outputs": dict(outputs) if outputs is not None else None,
        "outputs_truncated": False,
        "status": status,
        "error": error,
        "elapsed_time": node.elapsed(),
        "execution_metadata": None,
        "created_at": node.created_at,
        "finished_at": now(),
        "files": [],
        "iteration_id": None,
        "loop_id": None,
    }


def node_finished(
    ctx: WorkflowContext,
    node: NodeRun,
    outputs: Mapping[str, Any] | None,
    status: str = "succeeded",
    error: str | None = None,
    process_data: Mapping[str, Any] | None = None,
) -> Event:
    """A node's end: `succeeded`, `failed` (the run fails) or `exception` (the run goes on)."""
    return {**ctx.envelope("node_finished"), "data": _node_end_data(node, outputs, status, error, process_data)}


def node_retry(ctx: WorkflowContext, node: NodeRun, error: str, retry_index: int) -> Event:
    """A failed attempt of a node with retries enabled (NodeRetryStreamResponse)."""
    data = {**_node_end_data(node, None, "retry", error), "retry_index": retry_index}
    return {**ctx.envelope("node_retry"), "data": data}


def round_started(ctx: WorkflowContext, node: NodeRun, rounds: int) -> Event:
    """`iteration_started` / `loop_started` of an iteration or loop node."""
    kind = node.node_type
    return {
        **ctx.envelope(f"{kind}_started"),
        "data": {
            "id": node.node_id,
            "node_id": node.node_id,
            "node_type": kind,
            "title": node.title,
            "created_at": now(),
            "extras": {},
            "metadata": {f"{kind}_length" if kind == "loop" else "iterator_length": rounds},
            "inputs": {},
        },
    }


def round_next(ctx: WorkflowContext, node: NodeRun, index: int, previous_output: Any) -> Event:
    """`iteration_next` / `loop_next`: round `index` (from 0) begins."""
    kind = node.node_type
    return {
        **ctx.envelope(f"{kind}_next"),
        "data": {
            "id": node.node_id,
            "node_id": node.node_id,
            "node_type": kind,
            "title": node.title,
            "index": index,
            "created_at": now(),
            f"pre_{kind}_output": previous_output,
            "extras": {},
        },
    }


def round_completed(ctx: WorkflowContext, node: NodeRun, outputs: Mapping[str, Any], rounds: int) -> Event:
    """`iteration_completed` / `loop_completed` after the last round."""
    kind = node.node_type
    return {
        **ctx.envelope(f"{kind}_completed"),
        "data": {
            "id": node.node_id,
            "node_id": node.node_id,
            "node_type": kind,
            "title": node.title,
            "outputs": dict(outputs),
            "created_at": now(),
            "extras": {},
            "inputs": {},
            "status": "succeeded",
            "error": None,
            "elapsed_time": node.elapsed(),
            "total_tokens": 0,
            "execution_metadata": {},
            "finished_at": now(),
            "steps": rounds,
        },
    }


def agent_log(
    ctx: WorkflowContext, node: NodeRun, log_id: str, label: str, status: str, data: Mapping[str, Any]
) -> Event:
    """A step of an agent node's strategy (AgentLogStreamResponse)."""
    return {
        **ctx.plain("agent_log"),
        "data": {
            "node_execution_id": node.id,
            "id": log_id,
            "label": label,
            "parent_id": None,
            "error": None,
            "status": status,
            "data": dict(data),
            "metadata": {},
            "node_id": node.node_id,
        },
    }


def text_chunk(ctx: WorkflowContext, node_id: str, delta: str, selector: list[str] | None = None) -> Event:
    """A workflow's streamed piece of output text, tagged with the variable it belongs to
    (`[node_id, "text"]` unless `selector` says otherwise)."""
    chosen = selector if selector is not None else [node_id, "text"]
    return {**ctx.plain("text_chunk"), "data": {"text": delta, "from_variable_selector": list(chosen)}}


def tts_message(ctx: WorkflowContext | MessageContext, audio: str) -> Event:
    """A piece of the answer's speech (text-to-speech with auto-play on)."""
    head = ctx.plain("tts_message") if isinstance(ctx, WorkflowContext) else ctx.envelope("tts_message")
    return {**head, "audio": audio}


def tts_message_end(ctx: WorkflowContext | MessageContext) -> Event:
    head = ctx.plain("tts_message_end") if isinstance(ctx, WorkflowContext) else ctx.envelope("tts_message_end")
    return {**head, "audio": ""}


def workflow_finished(
    ctx: WorkflowContext,
    outputs: Mapping[str, Any],
    total_tokens: int,
    total_steps: int,
    *,
    status: str = "succeeded",
    error: str | None = None,
    exceptions_count: int = 0,
) -> Event:
    """A run's end: `succeeded`, `partial-succeeded` (nodes ended in `exception`), `failed`, `stopped`."""
    return {
        **ctx.envelope("workflow_finished"),
        "data": {
            "id": ctx.workflow_run_id,
            "workflow_id": ctx.workflow_id,
            "status": status,
            "outputs": dict(outputs),
            "error": error,
            "elapsed_time": round(time.monotonic() - ctx.started, 6),
            "total_tokens": total_tokens,
            "total_steps": total_steps,
            "created_by": {"id": _DEFAULT_USER_ID, "user": DEFAULT_USER},
            "created_at": ctx.created_at,
            "finished_at": now(),
            "exceptions_count": exceptions_count,
            "files": [],
        },
    }


def system_inputs(
    app_id: str, workflow_id: str, run_id: str, query: str | None = None, turn: int = 1
) -> dict[str, Any]:
    """The `sys.*` variables `workflow_started` lists after the app's inputs (a chatflow's
    also `sys.query` and `sys.dialogue_count`; recorded: inner_chat_stream_new)."""
    system: dict[str, Any] = {
        "sys.files": [],
        "sys.user_id": DEFAULT_USER,
        "sys.app_id": app_id,
        "sys.workflow_id": workflow_id,
        "sys.workflow_run_id": run_id,
    }
    if query is not None:
        system["sys.query"] = query
        system["sys.dialogue_count"] = turn
    return system


def start_node_variables(started: Mapping[str, Any], conversation_id: str | None, created_at: int) -> dict[str, Any]:
    """What the Start node reports as its inputs and outputs: `workflow_started`'s
    inputs plus `sys.conversation_id` (chatflow, after `sys.query`) or `sys.timestamp`
    (workflow, last)."""
    if conversation_id is None:
        return {**started, "sys.timestamp": created_at}
    variables: dict[str, Any] = {}
    for key, value in started.items():
        if key == "sys.dialogue_count":
            variables["sys.conversation_id"] = conversation_id
        variables[key] = value
    return variables


def workflow_error(ctx: WorkflowContext, fields: Mapping[str, Any]) -> Event:
    """How Dify reports, inside a workflow stream, an unexpected failure of the run."""
    return {**ctx.wrapper("error"), **fields}


_BLOCKING_RUN_FIELDS = (
    "id", "workflow_id", "status", "outputs", "error", "elapsed_time",
    "total_tokens", "total_steps", "created_at", "finished_at",
)  # fmt: skip


def workflow_blocking(finished: Mapping[str, Any]) -> Event:
    """Dify's blocking response of a workflow app, from its `workflow_finished` event."""
    data = finished["data"]
    return {
        "task_id": finished["task_id"],
        "workflow_run_id": finished["workflow_run_id"],
        "data": {key: data[key] for key in _BLOCKING_RUN_FIELDS},
    }


# --- app info (fetch_app) -----------------------------------------------------------

#: Dify's defaults (api/configs: UPLOAD_*_FILE_SIZE_LIMIT in MB, WORKFLOW_FILE_UPLOAD_LIMIT).
SYSTEM_PARAMETERS: dict[str, int] = {
    "image_file_size_limit": 10,
    "video_file_size_limit": 100,
    "audio_file_size_limit": 50,
    "file_size_limit": 15,
    "workflow_file_upload_limit": 10,
}


def app_parameters(spec: AppSpec) -> dict[str, Any]:
    """Dify's app parameters (get_parameters_from_feature_dict): what `fetch_app` answers.

    Features are off except text-to-speech when the app has `tts`; `user_input_form`
    lists the variables in form order, each as `{type: {...}}` with the fields of
    Dify's form items.
    """
    tts: dict[str, Any] = {"enabled": False, "language": "", "voice": ""}
    if spec.tts:
        tts = {"enabled": True, "autoPlay": "enabled", "voice": "", "language": ""}
    workflow_style = spec.mode in ("workflow", "advanced-chat")
    return {
        "opening_statement": spec.opening_statement,
        "suggested_questions": list(spec.suggested_questions),
        "suggested_questions_after_answer": {"enabled": False},
        "speech_to_text": {"enabled": False},
        "text_to_speech": tts,
        "retriever_resource": {"enabled": False},
        "annotation_reply": {"enabled": False},
        "more_like_this": {"enabled": False},
        "user_input_form": [form_item(v, workflow_style=workflow_style) for v in spec.variables],
        "sensitive_word_avoidance": {"enabled": False},
        # off: `{"enabled": false}` without further keys (recorded: inner_fetch_app_chatflow)
        "file_upload": {"enabled": False},
        "system_parameters": dict(SYSTEM_PARAMETERS),
    }


def form_item(variable: VariableSpec, *, workflow_style: bool) -> dict[str, Any]:
    """One `user_input_form` entry. A workflow's start node variables also carry `type`
    and `options` (Workflow.user_input_form(to_old_structure=True))."""
    kind = variable.dify_type
    item: dict[str, Any] = {"label": variable.label or variable.name, "variable": variable.name}
    if workflow_style:
        item["type"] = kind
    item["required"] = variable.required
    if kind in ("text-input", "paragraph", "file-list"):
        item["max_length"] = variable.max_length
    if kind not in FILE_VARIABLE_TYPES and variable.default is not None:
        # Dify 1.13.2 lists a default only when the app sets one (recorded: inner_fetch_app_workflow)
        item["default"] = variable.default
    if kind == "select" or workflow_style:
        item["options"] = list(variable.options)
    if kind in FILE_VARIABLE_TYPES:
        item["allowed_file_types"] = list(variable.allowed_file_types)
        item["allowed_file_extensions"] = list(variable.allowed_file_extensions)
        item["allowed_file_upload_methods"] = list(variable.allowed_file_upload_methods)
    return {kind: item}
