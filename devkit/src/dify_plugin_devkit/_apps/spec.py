"""The demo-app fixture format (YAML) and its loader.

A fixture file is `apps:` followed by a list of apps. Each app is validated strictly
(unknown keys are errors) because a misspelt knob such as `token_dealy` would otherwise
silently give a demo app without the behaviour a test relies on. Load errors name the
file, the app and the field so that the person editing the YAML can fix it at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dify_plugin_devkit._declarations.problems import error_message, format_loc
from dify_plugin_devkit._declarations.yamlfile import YamlFileError, read_yaml
from dify_plugin_devkit._errors import ConfigError

from .dify import QUIRKS

AppMode = Literal["chat", "agent-chat", "advanced-chat", "workflow", "completion"]
ScriptName = Literal["echo", "answer", "workflow", "completion"]
#: How a fault shows: Dify's in-stream `error` event; the call breaking mid-stream
#: (`read app failed`); the running node failing so that the run ends `failed`; the run
#: being stopped by its user (`stopped`).
FailAs = Literal["event", "invocation", "workflow", "stop"]
#: Which exception an `event` fault stands for; it decides the error event's code and
#: status, and what a blocking call of the app answers (Dify's error handlers).
FailKind = Literal["model_error", "value_error", "internal_error"]
#: Dify's input form item types (`string` is the devkit's old name of `text-input`).
VariableType = Literal["text-input", "string", "paragraph", "select", "number", "checkbox", "file", "file-list"]
#: Dify's FileType values.
FileType = Literal["image", "document", "audio", "video", "custom"]
#: Dify's FileTransferMethod values a form may allow.
UploadMethod = Literal["local_file", "remote_url", "tool_file"]
#: How a node of a scripted graph ends (`exception`: it failed, its error strategy let
#: the run go on, which then ends `partial-succeeded`).
NodeStatus = Literal["succeeded", "exception"]

#: Modes Dify runs through its chat generators: they need a non-empty `query`.
CHAT_MODES: frozenset[str] = frozenset({"chat", "agent-chat", "advanced-chat"})
#: Modes whose run is a workflow graph (and so has nodes).
WORKFLOW_MODES: frozenset[str] = frozenset({"workflow", "advanced-chat"})

DEFAULT_FAIL_MESSAGE = "Simulated failure from the devkit demo app"
DEFAULT_NODE_ERROR = "Simulated node error from the devkit demo app"

#: `{{name}}` placeholders, with Dify's variable-name syntax.
PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


class _Strict(BaseModel):
    """Unknown keys are errors; specs are not changed after loading (use model_copy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


FILE_VARIABLE_TYPES: frozenset[str] = frozenset({"file", "file-list"})
#: Node types that run their body in rounds and send `<type>_started/next/completed`.
ROUND_NODE_TYPES: frozenset[str] = frozenset({"iteration", "loop"})
#: Rounds of an iteration or loop node that does not say.
DEFAULT_ROUNDS = 2


class VariableSpec(_Strict):
    """An input variable of the app's input form, with the knobs of Dify's VariableEntity
    (api/core/app/app_config/entities.py) that the form and the input checks use."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str | None = None
    required: bool = True
    type: VariableType = "text-input"
    default: bool | int | float | str | None = None
    max_length: int | None = Field(default=None, ge=1)
    options: list[str] = Field(default_factory=list)
    allowed_file_types: list[FileType] = Field(default_factory=list)
    allowed_file_extensions: list[str] = Field(default_factory=list)
    allowed_file_upload_methods: list[UploadMethod] = Field(default_factory=list)

    @property
    def dify_type(self) -> str:
        """The type as Dify names it in its form (`string` is `text-input`)."""
        return "text-input" if self.type == "string" else self.type

    @model_validator(mode="after")
    def _check_knobs(self) -> VariableSpec:
        """Each knob only on the types Dify uses it for, so a misplaced one is not silently ignored."""
        kind, given = self.dify_type, self.model_fields_set
        if "options" in given and kind != "select":
            raise ValueError(f"options: only a select variable has options, not a {kind}")
        if kind == "select" and not self.options:
            raise ValueError("options: a select variable needs at least one option")
        if "max_length" in given and kind not in ("text-input", "paragraph", "file-list"):
            raise ValueError(f"max_length: only text-input, paragraph and file-list variables have one, not {kind}")
        file_knobs = sorted({"allowed_file_types", "allowed_file_extensions", "allowed_file_upload_methods"} & given)
        if file_knobs and kind not in FILE_VARIABLE_TYPES:
            raise ValueError(f"{file_knobs[0]}: only file and file-list variables have it, not {kind}")
        if self.default is not None:
            self._check_default(kind)
        return self

    def _check_default(self, kind: str) -> None:
        default = self.default
        if kind in FILE_VARIABLE_TYPES:
            raise ValueError("default: a file variable has no default")
        if kind == "number" and (isinstance(default, bool) or not isinstance(default, int | float)):
            raise ValueError("default: a number variable's default is a number")
        if kind == "checkbox" and not isinstance(default, bool):
            raise ValueError("default: a checkbox variable's default is true or false")
        if kind in ("text-input", "paragraph", "select") and not isinstance(default, str):
            raise ValueError(f"default: a {kind} variable's default is a string")
        if kind == "select" and default not in self.options:
            raise ValueError("default: must be one of the options")


class NodeSpec(_Strict):
    """One node of a workflow graph, run in list order.

    `status: exception` makes the node fail with `error` while the run goes on (Dify's
    error strategies), `retries` sends that many `node_retry` events first, `rounds`
    is how often an `iteration` or `loop` node runs its body. A node of type `agent`
    sends `agent_log` events.
    """

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    title: str = Field(min_length=1)
    status: NodeStatus = "succeeded"
    error: str | None = None
    retries: int = Field(default=0, ge=0, le=10)
    rounds: int | None = Field(default=None, ge=1, le=100)

    @property
    def effective_rounds(self) -> int:
        return self.rounds if self.rounds is not None else DEFAULT_ROUNDS

    @property
    def error_text(self) -> str:
        return self.error if self.error is not None else DEFAULT_NODE_ERROR

    @model_validator(mode="after")
    def _check_knobs(self) -> NodeSpec:
        if self.rounds is not None and self.type not in ROUND_NODE_TYPES:
            raise ValueError(f"rounds: only iteration and loop nodes run in rounds, not {self.type}")
        if self.error is not None and self.status == "succeeded" and not self.retries:
            raise ValueError("error: only used with status: exception or retries")
        return self


class MessageFileSpec(_Strict):
    """A file the app sends with its answer (a `message_file` event)."""

    type: FileType = "image"
    url: str = Field(min_length=1)


def default_nodes(mode: str) -> list[NodeSpec]:
    """The graph Dify's templates start from: a workflow ends in `end`, a chatflow in `answer`."""
    last = NodeSpec(id="answer", type="answer", title="Answer")
    if mode == "workflow":
        last = NodeSpec(id="end", type="end", title="End")
    return [
        NodeSpec(id="start", type="start", title="Start"),
        NodeSpec(id="llm", type="llm", title="LLM"),
        last,
    ]


class AppSpec(_Strict):
    """One demo app: what Dify knows about it plus the knobs of its scripted behaviour."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    mode: AppMode
    script: ScriptName
    description: str = ""
    answer: str | None = None
    token_delay: float = Field(default=0.0, ge=0)
    first_event_delay: float = Field(default=0.0, ge=0)
    variables: list[VariableSpec] = Field(default_factory=list)
    nodes: list[NodeSpec] | None = None
    fail_after: int | None = Field(default=None, ge=0)
    fail_as: FailAs = "event"
    fail_kind: FailKind = "model_error"
    fail_message: str = DEFAULT_FAIL_MESSAGE
    silent_after: int | None = Field(default=None, ge=0)
    message_files: list[MessageFileSpec] = Field(default_factory=list)
    replace_with: str | None = None
    tts: bool = False
    opening_statement: str = ""
    suggested_questions: list[str] = Field(default_factory=list)
    #: Benchmarks: each streamed event carries `devkit_sent_ns`, the devkit's
    #: `time.time_ns()` as it hands the event to the plugin, so that a client on the
    #: same machine can measure each event's delay. Not a Dify field: off by default.
    stamp_events: bool = False
    #: Quirks of the emulated Dify switched for this app only (`dify.py`: QUIRKS), e.g.
    #: `{completion_from_plugin_fails: false}`: this app runs as a later Dify runs it.
    quirks: dict[str, bool] = Field(default_factory=dict)
    #: Benchmarks of routes that pass on only the answer's text (an OpenAI-compatible
    #: route): each streamed delta (`answer` of a message, `data.text` of a text_chunk)
    #: is replaced by ` devkit_sent_ns=<time.time_ns()>`, taken as the devkit hands the
    #: event to the plugin. Not a Dify behaviour: off by default.
    stamp_answers: bool = False
    #: A workflow's outputs (`workflow_finished` and the blocking result), name -> value:
    #: any YAML value (string, number, boolean, list, mapping); strings take `{{variable}}`
    #: and `{{answer}}` (the streamed text) placeholders, and a string that is one
    #: placeholder alone keeps the value's type. Default: `{text: "{{answer}}"}`.
    outputs: dict[str, Any] | None = None

    @property
    def is_chat(self) -> bool:
        """Whether Dify treats the app as chat-type (query required, conversations)."""
        return self.mode in CHAT_MODES

    @property
    def effective_nodes(self) -> list[NodeSpec]:
        """The nodes a workflow-type run goes through (the declared ones or the default graph)."""
        return self.nodes if self.nodes is not None else default_nodes(self.mode)

    @model_validator(mode="after")
    def _check_consistency(self) -> AppSpec:
        """Reject combinations that would make the app behave differently from what it says."""
        self._check_script()
        self._check_placeholders()
        self._check_variables()
        self._check_nodes()
        self._check_faults()
        unknown = sorted(set(self.quirks) - set(QUIRKS))
        if unknown:
            raise ValueError(f"quirks: unknown quirk '{unknown[0]}'; the devkit knows {sorted(QUIRKS)}")
        self._check_outputs()
        if self.mode == "workflow":
            for knob in ("message_files", "replace_with"):
                if knob in self.model_fields_set:
                    raise ValueError(f"{knob}: a workflow app sends no messages")
        return self

    def _check_faults(self) -> None:
        given = self.model_fields_set
        if self.fail_after is None:
            unused = sorted({"fail_as", "fail_kind", "fail_message"} & given)
            if unused:
                raise ValueError(f"{unused[0]}: only has an effect together with fail_after")
            return
        if "fail_kind" in given and self.fail_as != "event":
            raise ValueError(f"fail_kind: only used with fail_as: event, not '{self.fail_as}'")
        if self.fail_as == "event" and self.fail_kind == "internal_error" and "fail_message" in given:
            raise ValueError(
                "fail_message: Dify shows an unexpected error as 'Internal Server Error, please contact "
                "support.' whatever its text; leave fail_message out"
            )
        if self.fail_as == "stop" and "fail_message" in given:
            raise ValueError("fail_message: a stopped run's error is Dify's 'Stopped by user.'; leave it out")
        if self.fail_as == "workflow" and self.mode not in WORKFLOW_MODES:
            raise ValueError(f"fail_as: 'workflow' needs a workflow or advanced-chat app, not '{self.mode}'")
        if self.fail_as in ("workflow", "stop") and self.mode in WORKFLOW_MODES and self.fail_after < 1:
            raise ValueError(f"fail_after: at least 1 with fail_as: {self.fail_as} (a run ends after workflow_started)")

    def _check_script(self) -> None:
        if self.script in ("echo", "answer") and not self.is_chat:
            raise ValueError(
                f"script: '{self.script}' needs a chat-type mode (chat, agent-chat, advanced-chat), not '{self.mode}'"
            )
        if self.script in ("workflow", "completion") and self.mode != self.script:
            raise ValueError(f"script: '{self.script}' needs mode '{self.script}', not '{self.mode}'")
        if self.script == "echo" and self.answer is not None:
            raise ValueError("answer: not used by script 'echo' (it answers 'Turn n: <query>')")
        if self.script != "echo" and self.answer is None:
            raise ValueError(f"answer: required by script '{self.script}'")

    def _check_placeholders(self) -> None:
        """Every `{{name}}` must be fillable; Dify passes only declared variables through."""
        known = {v.name for v in self.variables}
        if self.is_chat:
            known |= {"query", "turn"}  # turn: which turn of the conversation this is (1, 2, ...)
        for name in PLACEHOLDER.findall(self.answer or ""):
            if name not in known:
                raise ValueError(
                    f"answer: placeholder {{{{{name}}}}} is neither a declared variable"
                    + (" nor 'query' nor 'turn'" if self.is_chat else "")
                )

    def _check_outputs(self) -> None:
        if self.outputs is None:
            return
        if self.mode != "workflow":
            raise ValueError(f"outputs: only a workflow app's run has named outputs, not '{self.mode}'")
        if not self.outputs:
            raise ValueError("outputs: name at least one output (or leave outputs out: `text` is the answer)")
        known = {v.name for v in self.variables} | {"answer"}
        for name, value in self.outputs.items():
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"outputs: {name!r} is not a variable name (letters, digits, _)")
            for placeholder in _placeholders(value):
                if placeholder not in known:
                    raise ValueError(
                        f"outputs.{name}: placeholder {{{{{placeholder}}}}} is neither a declared variable nor 'answer'"
                    )

    def _check_variables(self) -> None:
        names = [v.name for v in self.variables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"variables: duplicate name '{duplicates[0]}'")

    def _check_nodes(self) -> None:
        if self.nodes is None:
            return
        if self.mode not in WORKFLOW_MODES:
            raise ValueError(f"nodes: only workflow and advanced-chat apps have nodes, not '{self.mode}'")
        ids = [n.id for n in self.nodes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"nodes: duplicate id '{duplicates[0]}'")
        if not any(n.type == "llm" and n.status == "succeeded" for n in self.nodes):
            raise ValueError("nodes: need a node of type 'llm' that succeeds (the answer streams while it runs)")


def _placeholders(value: Any) -> list[str]:
    """The `{{name}}`s in an output value, strings inside lists and mappings included."""
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, list):
        return [name for item in value for name in _placeholders(item)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in _placeholders(item)]
    return []


class _FixtureFile(_Strict):
    apps: list[AppSpec]


def load_apps(path: Path | str) -> list[AppSpec]:
    """Read one fixture file. Raises ConfigError naming the file, the app and the field."""
    path = Path(path)
    try:
        raw = read_yaml(path)
    except YamlFileError as exc:
        reason = "not valid YAML" if exc.failure == "syntax" else "cannot read"
        raise ConfigError(f"{path}: {reason}: {exc.detail}") from exc
    return parse_apps(raw, str(path))


def parse_apps(raw: Any, source: str) -> list[AppSpec]:
    """Validate an already-parsed fixture (`{"apps": [...]}`); `source` names it in errors
    (a file, or the configuration that declares apps inline)."""
    try:
        fixture = _FixtureFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        lines = [f"{source}: {_describe(error, raw)}" for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
    _reject_duplicate_ids(source, fixture.apps)
    return list(fixture.apps)


def _reject_duplicate_ids(source: str, apps: Sequence[AppSpec]) -> None:
    seen: dict[str, int] = {}
    for index, app in enumerate(apps):
        if app.id in seen:
            raise ConfigError(f"{source}: apps[{index}] (id '{app.id}'): id: duplicate of apps[{seen[app.id]}]")
        seen[app.id] = index


def _describe(error: Mapping[str, Any], raw: Any) -> str:
    """`apps[2] (id 'x'): token_delay: Input should be a valid number` from a pydantic error."""
    loc = tuple(error["loc"])
    message = error_message(error)
    if len(loc) >= 2 and loc[0] == "apps" and isinstance(loc[1], int):
        app = f"apps[{loc[1]}]"
        app_id = _raw_app_id(raw, loc[1])
        if app_id is not None:
            app += f" (id {app_id!r})"
        field = format_loc(loc[2:])
        return f"{app}: {field}: {message}" if field else f"{app}: {message}"
    field = format_loc(loc)
    return f"{field}: {message}" if field else message


def _raw_app_id(raw: Any, index: int) -> str | None:
    """The id the YAML gives app number `index`, if it has a usable one."""
    if not isinstance(raw, Mapping):
        return None
    apps = raw.get("apps")
    if not isinstance(apps, list) or index >= len(apps) or not isinstance(apps[index], Mapping):
        return None
    app_id = apps[index].get("id")
    return app_id if isinstance(app_id, str) else None
