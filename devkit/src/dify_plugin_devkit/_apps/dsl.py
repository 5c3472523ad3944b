"""Apps from Dify DSL files: the YAML Dify's "Export DSL" writes, run by the devkit.

A devkit.yaml entry `{id: my-flow, dsl: path/to/app.yml}` (the path relative to the
configuration file) declares an app of any of the modes Dify exports: `advanced-chat`
(chatflow), `workflow`, `chat` and `completion`.

- **Parameters** (`fetch_app`) are derived as Dify derives `/parameters`
  (api/core/app/app_config/common/parameters_mapping: `get_parameters_from_feature_dict`):
  the features with Dify's defaults, and `user_input_form` from the Start node's
  variables (workflow modes: `Workflow.user_input_form(to_old_structure=True)`, each
  variable as the DSL writes it under its type) or from `model_config.user_input_form`
  (chat and completion). Recorded: inner_fetch_app_chatflow, inner_fetch_app_workflow.
- **Runs** of workflow modes walk the graph (`DslRun` below) and send the events Dify
  1.13.2 sends, node by node: Start, End, Answer, IF/ELSE (Dify's comparison
  operators), Variable Aggregator, Template (Jinja2 in a sandboxed environment), with
  `{{#node.var#}}` references resolved. Nodes that need a model, a sandbox or the
  network (LLM, Code, HTTP request, Tool, ...) answer with what the entry scripts under
  `nodes: {<node id>: {text, outputs, branch, fail}}`, else with stand-in outputs.
  Chat and completion apps run as the scripted demo apps do (`text:` is the model's
  answer; `fail:` makes the model unreachable: 400 before any event, as recorded in
  inner_basic_stream).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dify_plugin_devkit._declarations.problems import error_message, format_loc
from dify_plugin_devkit._declarations.yamlfile import YamlFileError, read_yaml
from dify_plugin_devkit._errors import ConfigError

from . import events
from .dify import QUIRKS
from .events import Event, MessageContext, NodeRun, WorkflowContext
from .inputs import InputFile, to_event_value
from .scripts import tokenize
from .spec import AppSpec, VariableSpec

#: Dify's variable references in Answer texts and prompts: `{{#node_id.variable#}}`
#: (api/core/workflow/nodes/base/variable_template_parser.py, REGEX).
REFERENCE = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")
#: Node types whose outgoing edges are chosen by the node (sourceHandle = a case id).
BRANCH_TYPES = frozenset({"if-else", "question-classifier"})
#: Node types that stream their text to the caller (Dify's response nodes).
RESPONSE_TYPES = frozenset({"answer", "end"})
DSL_MODES = ("advanced-chat", "workflow", "chat", "completion")
#: What an LLM node says when its entry scripts no text.
DEFAULT_LLM_TEXT = "This is the devkit's stand-in answer of the LLM node '{title}'."

#: Stand-in outputs of nodes that need something the devkit does not have.
_DEFAULT_OUTPUTS: dict[str, dict[str, Any]] = {
    "http-request": {"status_code": 200, "body": "", "headers": {}, "files": []},
    "tool": {"text": "", "files": [], "json": []},
    "knowledge-retrieval": {"result": []},
    "parameter-extractor": {"__is_success": 1, "__reason": None},
}
_TYPE_DEFAULTS: dict[str, Any] = {"string": "", "number": 0, "object": {}, "boolean": False}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeScript(_Strict):
    """What a node that needs a model, sandbox or network answers in the devkit."""

    text: str | None = None
    outputs: dict[str, Any] | None = None
    #: the sourceHandle the node takes (question classifiers: a class id)
    branch: str | None = None
    #: the node fails with this error (node_finished `failed`, the run fails)
    fail: str | None = None


class DslEntry(_Strict):
    """One `apps:` entry of devkit.yaml that points at a DSL file."""

    id: str = Field(min_length=1)
    dsl: str = Field(min_length=1)
    name: str | None = None
    nodes: dict[str, NodeScript] = Field(default_factory=dict)
    #: chat and completion apps: the model's answer (`{{var}}` fills in an input)
    text: str | None = None
    #: chat and completion apps: the model cannot be reached; Dify answers 400 with this
    fail: str | None = None
    token_delay: float = Field(default=0.0, ge=0)
    quirks: dict[str, bool] = Field(default_factory=dict)


def is_dsl_entry(entry: Any) -> bool:
    return isinstance(entry, Mapping) and "dsl" in entry


# --- parameters ----------------------------------------------------------------------


def parameters(features: Mapping[str, Any], user_input_form: list[Any]) -> dict[str, Any]:
    """Dify's `get_parameters_from_feature_dict`: each feature with Dify's default."""
    return {
        "opening_statement": features.get("opening_statement"),
        "suggested_questions": features.get("suggested_questions", []),
        "suggested_questions_after_answer": features.get("suggested_questions_after_answer", {"enabled": False}),
        "speech_to_text": features.get("speech_to_text", {"enabled": False}),
        "text_to_speech": features.get("text_to_speech", {"enabled": False}),
        "retriever_resource": features.get("retriever_resource", {"enabled": False}),
        "annotation_reply": features.get("annotation_reply", {"enabled": False}),
        "more_like_this": features.get("more_like_this", {"enabled": False}),
        "user_input_form": user_input_form,
        "sensitive_word_avoidance": features.get(
            "sensitive_word_avoidance", {"enabled": False, "type": "", "configs": []}
        ),
        "file_upload": features.get(
            "file_upload",
            {
                "image": {
                    "enabled": False,
                    "number_limits": 3,
                    "detail": "high",
                    "transfer_methods": ["remote_url", "local_file"],
                }
            },
        ),
        "system_parameters": dict(events.SYSTEM_PARAMETERS),
    }


_VARIABLE_KNOBS: dict[str, tuple[str, ...]] = {
    "text-input": ("max_length", "default"),
    "paragraph": ("max_length", "default"),
    "select": ("options", "default"),
    "number": ("default",),
    "checkbox": ("default",),
    "file": ("allowed_file_types", "allowed_file_extensions", "allowed_file_upload_methods"),
    "file-list": ("max_length", "allowed_file_types", "allowed_file_extensions", "allowed_file_upload_methods"),
}


def variable_spec(raw: Mapping[str, Any]) -> VariableSpec:
    """A form variable of the DSL as the devkit's input checks know it."""
    kind = raw.get("type", "text-input")
    if kind not in _VARIABLE_KNOBS:
        raise ValueError(f"variable {raw.get('variable')!r}: type {kind!r} is not supported by the devkit")
    fields: dict[str, Any] = {"name": raw.get("variable"), "label": raw.get("label"), "type": kind}
    fields["required"] = bool(raw.get("required", False))
    for knob in _VARIABLE_KNOBS[kind]:
        value = raw.get(knob)
        if value is not None and value != "" and value != []:
            fields[knob] = value
    return VariableSpec.model_validate(fields)


# --- the graph -----------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    handle: str


@dataclass(frozen=True)
class Graph:
    """A workflow graph: nodes by id (their `data`), edges, and a topological order."""

    nodes: dict[str, dict[str, Any]]
    edges: tuple[Edge, ...]
    order: tuple[str, ...]
    start: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Graph:
        nodes: dict[str, dict[str, Any]] = {}
        for node in raw.get("nodes") or []:
            data = dict(node.get("data") or {})
            if node.get("type") in ("custom-note", "custom-iteration-start", "custom-loop-start"):
                continue
            nodes[str(node["id"])] = data
        edges = tuple(
            Edge(str(e["source"]), str(e["target"]), str(e.get("sourceHandle") or "source"))
            for e in raw.get("edges") or []
            if e.get("source") in nodes and e.get("target") in nodes
        )
        starts = [node_id for node_id, data in nodes.items() if data.get("type") == "start"]
        if len(starts) != 1:
            raise ValueError(f"graph: expected one Start node, found {len(starts)}")
        return cls(nodes=nodes, edges=edges, order=_topological(nodes, edges), start=starts[0])

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def predecessors(self, node_id: str) -> list[str]:
        return [e.source for e in self.edges if e.target == node_id]


def _topological(nodes: Mapping[str, Any], edges: Sequence[Edge]) -> tuple[str, ...]:
    incoming = dict.fromkeys(nodes, 0)
    for edge in edges:
        incoming[edge.target] += 1
    ready = [node_id for node_id in nodes if incoming[node_id] == 0]
    order: list[str] = []
    while ready:
        node_id = ready.pop(0)
        order.append(node_id)
        for edge in edges:
            if edge.source == node_id:
                incoming[edge.target] -= 1
                if incoming[edge.target] == 0:
                    ready.append(edge.target)
    if len(order) != len(nodes):
        raise ValueError("graph: has a cycle (loops are Loop nodes in Dify, not edges back)")
    return tuple(order)


@dataclass(frozen=True)
class DslApp:
    """An app read from a DSL file. Chat and completion apps carry the demo `AppSpec`
    that runs them; workflow-mode apps carry their `Graph`."""

    id: str
    name: str
    mode: str
    source: Path
    variables: list[VariableSpec]
    parameters: dict[str, Any]
    graph: Graph | None = None
    scripts: dict[str, NodeScript] = field(default_factory=dict)
    basic: AppSpec | None = None
    model_fail: str | None = None
    token_delay: float = 0.0
    quirks: dict[str, bool] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    conversation: dict[str, Any] = field(default_factory=dict)

    @property
    def is_chat(self) -> bool:
        return self.mode in ("chat", "advanced-chat")


def load_dsl_app(entry: Mapping[str, Any], base: Path, where: str) -> DslApp:
    """The app of one `{id, dsl, ...}` entry; ConfigError naming the entry and the problem."""
    try:
        spec = DslEntry.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{where}: {format_loc(tuple(first['loc']))}: {error_message(first)}") from None
    where = f"{where} (id {spec.id!r})"
    unknown = sorted(set(spec.quirks) - set(QUIRKS))
    if unknown:
        raise ConfigError(f"{where}: quirks: unknown quirk '{unknown[0]}'; the devkit knows {sorted(QUIRKS)}")
    path = (base / spec.dsl).expanduser()
    try:
        raw = read_yaml(path)
    except YamlFileError as exc:
        reason = "not valid YAML" if exc.failure == "syntax" else "cannot read"
        raise ConfigError(f"{where}: dsl: {path}: {reason}: {exc.detail}") from None
    try:
        return _build(spec, raw, path)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: dsl: {path}: {exc}") from None


def _build(spec: DslEntry, raw: Any, path: Path) -> DslApp:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("app"), Mapping):
        raise ValueError("not a Dify app export (no `app:` section)")
    app, mode = raw["app"], raw["app"].get("mode")
    if mode not in DSL_MODES:
        raise ValueError(f"app.mode {mode!r}: the devkit runs {', '.join(DSL_MODES)}")
    name = spec.name or str(app.get("name") or spec.id)
    common: dict[str, Any] = {"id": spec.id, "name": name, "mode": mode, "source": path, "quirks": spec.quirks}
    if mode in ("chat", "completion"):
        return _build_basic(spec, raw.get("model_config") or {}, common)
    if spec.text is not None or spec.fail is not None:
        raise ValueError("text/fail: only chat and completion apps; script a workflow's nodes under `nodes:`")
    workflow = raw.get("workflow") or {}
    graph = Graph.parse(workflow.get("graph") or {})
    _check_operators(graph)
    unknown = sorted(set(spec.nodes) - set(graph.nodes))
    if unknown:
        raise ValueError(f"nodes.{unknown[0]}: the graph has no such node; its nodes: {sorted(graph.nodes)}")
    form = list(graph.nodes[graph.start].get("variables") or [])
    variables = [variable_spec(v) for v in form]
    user_input_form = [{v.get("type", "text-input"): dict(v)} for v in form]
    return DslApp(
        **common,
        variables=variables,
        parameters=parameters(workflow.get("features") or {}, user_input_form),
        graph=graph,
        scripts=dict(spec.nodes),
        token_delay=spec.token_delay,
        environment={v["name"]: v.get("value") for v in workflow.get("environment_variables") or []},
        conversation={v["name"]: v.get("value") for v in workflow.get("conversation_variables") or []},
    )


#: Dify's comparison operators the devkit evaluates (see `compare`).
OPERATORS = frozenset(
    {"contains", "not contains", "start with", "end with", "is", "is not", "empty", "not empty", "in", "not in"}
    | {"all of", "=", "≠", ">", "<", "≥", "≤", "null", "not null", "exists", "not exists"}
)


def _check_operators(graph: Graph) -> None:
    """Refuse at start-up an IF/ELSE the devkit could not evaluate, rather than mid-run."""
    for node_id, data in graph.nodes.items():
        if data.get("type") != "if-else":
            continue
        for case in _cases(data):
            for condition in case.get("conditions") or data.get("conditions") or []:
                operator = condition.get("comparison_operator")
                if operator not in OPERATORS:
                    raise ValueError(
                        f"node {node_id!r}: comparison operator {operator!r} is not supported by the devkit"
                    )


def _build_basic(spec: DslEntry, model_config: Mapping[str, Any], common: dict[str, Any]) -> DslApp:
    if spec.nodes:
        raise ValueError("nodes: a chat or completion app has no graph; use text or fail")
    form = list(model_config.get("user_input_form") or [])
    variables = []
    for item in form:
        [(kind, body)] = item.items()
        variables.append(variable_spec({"type": kind, **body}))
    mode = common["mode"]
    text = spec.text if spec.text is not None else DEFAULT_LLM_TEXT.format(title=common["name"])
    basic = AppSpec(
        id=spec.id,
        name=common["name"],
        mode=mode,
        script="completion" if mode == "completion" else "answer",
        answer=text,
        variables=variables,
        token_delay=spec.token_delay,
        quirks=spec.quirks,
    )
    return DslApp(
        **common,
        variables=variables,
        parameters=parameters(model_config, form),
        basic=basic,
        model_fail=spec.fail,
        token_delay=spec.token_delay,
    )


# --- values --------------------------------------------------------------------------

_MISSING = object()


def text_of(value: Any) -> str:
    """A value as Dify writes it into a text (Segment.text): None is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, InputFile):
        return value.filename
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(to_event_value(value), ensure_ascii=False)


class Pool:
    """The run's variables: `(node id, name)` -> value (sys, env, conversation too)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}

    def set(self, node_id: str, outputs: Mapping[str, Any]) -> None:
        for name, value in outputs.items():
            self.values[(node_id, name)] = value

    def get(self, selector: Sequence[str]) -> Any:
        """The value a selector names, `_MISSING` when nothing is there."""
        if len(selector) < 2:
            return _MISSING
        value = self.values.get((selector[0], selector[1]), _MISSING)
        for key in selector[2:]:
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, InputFile) and hasattr(value, key):
                value = getattr(value, key)
            else:
                return _MISSING
        return value

    def has(self, selector: Sequence[str]) -> bool:
        return self.get(selector) is not _MISSING

    def render(self, template: str) -> str:
        """`{{#node.var#}}` references replaced by their values (unknown ones: empty)."""

        def fill(match: re.Match[str]) -> str:
            value = self.get(match.group(1).split("."))
            return "" if value is _MISSING else text_of(value)

        return REFERENCE.sub(fill, template)


@dataclass
class Segment:
    """A piece of a response node's text: fixed text, or a variable's value."""

    text: str | None
    selector: list[str]


def segments(node_id: str, data: Mapping[str, Any]) -> list[Segment]:
    """How a response node streams: an Answer's template in pieces; an End's outputs,
    one after the other with "\\n" between them (recorded: inner_wf_stream_good)."""
    if data.get("type") == "answer":
        template, found, at = str(data.get("answer") or ""), [], 0
        for match in REFERENCE.finditer(template):
            if match.start() > at:
                found.append(Segment(template[at : match.start()], [node_id, "answer"]))
            found.append(Segment(None, match.group(1).split(".")))
            at = match.end()
        if at < len(template):
            found.append(Segment(template[at:], [node_id, "answer"]))
        return found
    result: list[Segment] = []
    for index, output in enumerate(data.get("outputs") or []):
        if index:
            result.append(Segment("\n", [node_id, "answer"]))
        result.append(Segment(None, [str(s) for s in output.get("value_selector") or []]))
    return result


# --- IF/ELSE -------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def compare(actual: Any, operator: str, expected: Any) -> bool:
    """One condition with Dify's comparison operators
    (api/core/workflow/utils/condition/processor.py)."""
    if operator in ("empty", "not empty"):
        empty = not actual  # Dify's _assert_empty: any falsy value (None, "", [], 0) is empty
        return empty if operator == "empty" else not empty
    if operator in ("null", "not null", "exists", "not exists"):
        present = actual is not None
        return present if operator in ("not null", "exists") else not present
    if operator in ("=", "≠", ">", "<", "≥", "≤"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return {
            "=": left == right,
            "≠": left != right,
            ">": left > right,
            "<": left < right,
            "≥": left >= right,
            "≤": left <= right,
        }[operator]
    if operator in ("in", "not in"):
        options = expected if isinstance(expected, list) else [expected]
        return (actual in options) == (operator == "in")
    if operator == "all of":
        return isinstance(actual, list) and isinstance(expected, list) and all(x in actual for x in expected)
    if actual is None:  # Dify: only "not contains" holds for a missing value
        return operator == "not contains"
    if not actual and operator in ("contains", "not contains", "start with", "end with"):
        return operator == "not contains"
    if isinstance(actual, list):
        haystack: Any = [text_of(x) for x in actual]
    else:
        haystack = text_of(actual)
    needle = text_of(expected)
    checks = {
        "contains": lambda: needle in haystack,
        "not contains": lambda: needle not in haystack,
        "start with": lambda: isinstance(haystack, str) and haystack.startswith(needle),
        "end with": lambda: isinstance(haystack, str) and haystack.endswith(needle),
        "is": lambda: haystack == needle,
        "is not": lambda: haystack != needle,
    }
    if operator not in checks:
        raise ValueError(f"comparison operator {operator!r} is not supported by the devkit")
    return bool(checks[operator]())


def _cases(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    if data.get("cases"):
        return [dict(case) for case in data["cases"]]
    # the old single-case form: conditions and logical_operator on the node itself
    return [{"case_id": "true", "logical_operator": data.get("logical_operator", "and"), "conditions": []}]


def run_if_else(data: Mapping[str, Any], pool: Pool) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """inputs, process_data and outputs of an IF/ELSE node, as Dify 1.13.2 reports them."""
    inputs: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    selected = "false"
    for case in _cases(data):
        conditions = case.get("conditions") or (data.get("conditions") if not data.get("cases") else []) or []
        outcomes = []
        for condition in conditions:
            actual = pool.get([str(s) for s in condition.get("variable_selector") or []])
            actual = None if actual is _MISSING else actual
            expected = condition.get("value")
            if isinstance(expected, str):
                expected = pool.render(expected)
            operator = str(condition.get("comparison_operator"))
            inputs.append(
                {"actual_value": to_event_value(actual), "expected_value": expected, "comparison_operator": operator}
            )
            outcomes.append(compare(actual, operator, expected))
        logical = case.get("logical_operator", "and")
        final = all(outcomes) if logical == "and" else any(outcomes)
        group = {
            "case_id": case.get("case_id"),
            "logical_operator": logical,
            "conditions": [
                {
                    "variable_selector": c.get("variable_selector"),
                    "comparison_operator": c.get("comparison_operator"),
                    "value": c.get("value"),
                    "sub_variable_condition": c.get("sub_variable_condition"),
                }
                for c in conditions
            ],
        }
        results.append({"group": group, "results": outcomes, "final_result": final})
        if final:
            selected = str(case.get("case_id"))
            break
    outputs = {"result": selected != "false", "selected_case_id": selected}
    return {"conditions": inputs}, {"condition_results": results}, outputs


# --- a run ---------------------------------------------------------------------------

_JINJA = ImmutableSandboxedEnvironment(autoescape=False)  # text, not HTML: Dify's template node


class NodeFailed(Exception):
    """A node of the run failed (its error is the run's)."""

    def __init__(self, message: str, inputs: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.inputs = dict(inputs or {})


@dataclass
class _Response:
    node_id: str
    segments: list[Segment]
    cursor: int = 0

    @property
    def done(self) -> bool:
        return self.cursor >= len(self.segments)


class DslRun:
    """One run of a workflow-mode DSL app: the events Dify 1.13.2 sends, in its order.

    Nodes run in topological order when an edge that was taken leads to them. A response
    node (Answer, End) streams its pieces as soon as it is sure to run and each piece is
    known, *before* the `node_finished` of the node that made it known (recorded: the
    Answer's text arrives inside the IF/ELSE node, the End's outputs inside the Variable
    Aggregator); an LLM's text streams token by token while the LLM node runs. Every
    node reports `index` 1 and no predecessor, as Dify 1.13.2 does.
    """

    def __init__(
        self,
        app: DslApp,
        inputs: Mapping[str, Any],
        *,
        query: str = "",
        message: MessageContext | None = None,
        turn: int = 1,
    ) -> None:
        if app.graph is None:
            raise RuntimeError("a DslRun needs a workflow-mode app")
        self.app, self.graph, self.message = app, app.graph, message
        form_inputs = {v.name: to_event_value(inputs.get(v.name)) for v in app.variables}
        self.ctx = WorkflowContext.start(app.id, form_inputs, message, query=query, turn=turn)
        self.pool = Pool()
        self.pool.set("sys", {key[4:]: value for key, value in self.ctx.inputs.items() if key.startswith("sys.")})
        if message is not None and message.conversation_id is not None:
            self.pool.set("sys", {"conversation_id": message.conversation_id})
        self.pool.set("env", app.environment)
        self.pool.set("conversation", app.conversation)
        self.inputs = {v.name: inputs.get(v.name) for v in app.variables}
        self.reached: set[str] = {self.graph.start}
        self.executed: set[str] = set()
        self.responses = [
            _Response(node_id, segments(node_id, self.graph.nodes[node_id]))
            for node_id in self.graph.order
            if self.graph.nodes[node_id].get("type") in RESPONSE_TYPES
            and (self.graph.nodes[node_id].get("type") == "answer") == (message is not None)
        ]
        self.answer = ""
        self.end_outputs: dict[str, Any] = {}

    # -- streaming of response nodes --

    def _determined(self, node_id: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether the node is sure to run: reached, or behind a node sure to run that
        does not choose a branch (and has not run without taking the edge)."""
        if node_id in self.reached:
            return True
        if node_id in seen:
            return False
        for pred in self.graph.predecessors(node_id):
            if pred in self.executed or self.graph.nodes[pred].get("type") in BRANCH_TYPES:
                continue
            if self._determined(pred, seen | {node_id}):
                return True
        return False

    def _chunk(self, text: str, selector: list[str]) -> Event:
        if self.message is not None:
            self.answer += text
            return events.message(self.message, text, selector)
        return events.text_chunk(self.ctx, selector[0], text, selector=selector)

    def _current(self) -> _Response | None:
        """The response node streaming now: the first unfinished one that is sure to run."""
        for response in self.responses:
            if not response.done and self._determined(response.node_id):
                return response
        return None

    def _flush(self) -> list[Event]:
        out: list[Event] = []
        while (response := self._current()) is not None:
            segment = response.segments[response.cursor]
            if segment.text is not None:
                out.append(self._chunk(segment.text, segment.selector))
            else:
                source = segment.selector[0]
                if source not in ("sys", "env", "conversation") and source not in self.executed:
                    return out
                value = self.pool.get(segment.selector)
                if not _is_file(value):  # files are not streamed as text
                    out.append(self._chunk(text_of(None if value is _MISSING else value), segment.selector))
            response.cursor += 1
        return out

    async def _stream_llm(self, node_id: str, text: str) -> AsyncIterator[Event]:
        """The LLM's tokens, when the response streaming now waits for exactly its text."""
        response = self._current()
        if response is None or response.segments[response.cursor].selector != [node_id, "text"]:
            return
        for index, token in enumerate(tokenize(text)):
            if index and self.app.token_delay:
                await asyncio.sleep(self.app.token_delay)
            yield self._chunk(token, [node_id, "text"])
        response.cursor += 1

    # -- nodes --

    def _values(self, variables: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        found = {}
        for variable in variables:
            value = self.pool.get([str(s) for s in variable.get("value_selector") or []])
            found[str(variable.get("variable"))] = None if value is _MISSING else value
        return found

    def _execute(
        self, node_id: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]:
        """(inputs, process_data, outputs, branch handle) of one node, or NodeFailed."""
        kind = str(data.get("type"))
        script = self.app.scripts.get(node_id)
        if kind == "start":
            variables = self.ctx.start_node_variables()
            self.pool.set(node_id, self.inputs)
            return variables, {}, variables, "source"
        if kind == "if-else":
            inputs, process, outputs = run_if_else(data, self.pool)
            return inputs, process, outputs, outputs["selected_case_id"]
        if kind == "variable-aggregator":
            for selector in data.get("variables") or []:
                value = self.pool.get([str(s) for s in selector])
                if value is not _MISSING:
                    key = ".".join(str(s) for s in selector[1:])
                    return {key: to_event_value(value)}, {}, {"output": value}, "source"
            return {}, {}, {"output": None}, "source"
        if kind == "template-transform":
            values = self._values(data.get("variables") or [])
            try:
                rendered = _JINJA.from_string(str(data.get("template") or "")).render(**values)
            except (TemplateError, TypeError, ValueError) as exc:  # fails the node, as in Dify
                raise NodeFailed(f"Failed to transform template: {exc}", values) from None
            return values, {}, {"output": rendered}, "source"
        if kind == "answer":
            text = self.pool.render(str(data.get("answer") or ""))
            return {}, {}, {"answer": text, "files": []}, "source"
        if kind == "end":
            values = self._values(data.get("outputs") or [])
            self.end_outputs = values
            return values, {}, values, "source"
        inputs = self._values(data.get("variables") or [])
        if script is not None and script.fail is not None:
            raise NodeFailed(script.fail, inputs)
        outputs = self._scripted_outputs(kind, data, script)
        if script is not None and script.branch:
            return inputs, {}, outputs, script.branch
        classes = data.get("classes") or []
        if kind == "question-classifier" and classes:  # unscripted: the first class
            return inputs, {}, {"class_name": classes[0].get("name"), **outputs}, str(classes[0].get("id"))
        return inputs, {}, outputs, "source"

    def _scripted_outputs(self, kind: str, data: Mapping[str, Any], script: NodeScript | None) -> dict[str, Any]:
        if kind == "llm":
            text = script.text if script and script.text is not None else None
            if text is None:
                text = DEFAULT_LLM_TEXT.format(title=data.get("title") or "LLM")
            return {"text": self.pool.render(text), **((script.outputs or {}) if script else {})}
        if script is not None and script.outputs is not None:
            return dict(script.outputs)
        if script is not None and script.text is not None:
            return {"text": self.pool.render(script.text)}
        if kind == "code":
            declared = data.get("outputs") or {}
            return {name: _TYPE_DEFAULTS.get(str((spec or {}).get("type"))) for name, spec in declared.items()}
        return dict(_DEFAULT_OUTPUTS.get(kind, {}))

    # -- the run --

    async def stream(self) -> AsyncGenerator[Event, None]:
        """The run's events; a chatflow's end with `message_end` before `workflow_finished`,
        a failed chatflow with an `error` event after it (recorded: inner_chat_fail_stream)."""
        ctx = self.ctx
        yield events.workflow_started(ctx)
        failure: str | None = None
        for node_id in self.graph.order:
            if node_id not in self.reached:
                continue
            data = self.graph.nodes[node_id]
            kind = str(data.get("type"))
            node = NodeRun.start(node_id, kind, str(data.get("title") or node_id), 1, None, {})
            yield events.node_started(ctx, node)
            if kind == "llm":
                text = self._scripted_outputs(kind, data, self.app.scripts.get(node_id))["text"]
                script = self.app.scripts.get(node_id)
                if script is None or script.fail is None:
                    async for event in self._stream_llm(node_id, text):
                        yield event
            try:
                inputs, process, outputs, handle = self._execute(node_id, data)
            except NodeFailed as failed:
                failure = failed.message
                self.executed.add(node_id)
                yield events.node_finished(ctx, _with_inputs(node, failed.inputs), {}, "failed", failed.message)
                break
            self.pool.set(node_id, outputs)
            self.executed.add(node_id)
            for edge in self.graph.out_edges(node_id):
                if edge.handle == handle or (handle == "source" and edge.handle not in ("fail-branch",)):
                    self.reached.add(edge.target)
            for event in self._flush():
                yield event
            event_outputs = {k: to_event_value(v) for k, v in outputs.items()}
            yield events.node_finished(ctx, _with_inputs(node, inputs), event_outputs, process_data=process)
        async for event in self._finish(failure):
            yield event

    async def _finish(self, failure: str | None) -> AsyncIterator[Event]:
        ctx, steps = self.ctx, len(self.executed)
        if self.message is not None:
            outputs: dict[str, Any] = {"answer": self.answer, "files": []}
        else:
            outputs = {} if failure else {k: to_event_value(v) for k, v in self.end_outputs.items()}
        if self.message is not None and failure is None:
            yield events.message_end(self.message, events.usage(0, 0, 0.0))
        yield events.workflow_finished(
            ctx,
            outputs,
            total_tokens=0,
            total_steps=steps,
            status="failed" if failure else "succeeded",
            error=failure,
            exceptions_count=1 if failure else 0,
        )
        if self.message is not None and failure is not None:
            # advanced_chat/generate_task_pipeline.py: the failed run becomes a ValueError
            yield events.message_error(self.message, events.error_fields("value_error", f"Run failed: {failure}"))


def _is_file(value: Any) -> bool:
    return isinstance(value, InputFile) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, InputFile) for v in value)
    )


def _with_inputs(node: NodeRun, inputs: Mapping[str, Any]) -> NodeRun:
    """The node run with the inputs node_finished reports."""
    return replace(node, inputs={k: to_event_value(v) for k, v in inputs.items()})
