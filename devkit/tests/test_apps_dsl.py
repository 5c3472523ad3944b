"""Apps from Dify DSL files: loading, the form, the graph walk and its node types.

The recorded apps are replayed against the recordings in test_fidelity.py; these tests
cover what the recordings do not: other node types, operators, scripts and mistakes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from app_support import chat_request, collect, collect_failure, flow_request, kinds, of_kind
from support import PROBE_PLUGIN

from dify_plugin_devkit._apps import AppBackend
from dify_plugin_devkit._apps.dsl import compare, load_dsl_app
from dify_plugin_devkit._config import load_config
from dify_plugin_devkit._declarations import load_plugin
from dify_plugin_devkit._errors import ConfigError

RECORDED = Path(__file__).parent / "fixtures" / "real-dify-1.13.2"


def node(node_id: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "custom", "data": {"title": node_id.title(), **data}}


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    return {"source": source, "target": target, "sourceHandle": handle, "targetHandle": "target"}


def export(mode: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **features: Any) -> dict[str, Any]:
    """A DSL file as Dify's "Export DSL" writes it (the parts the devkit reads)."""
    return {
        "app": {"mode": mode, "name": f"test {mode}"},
        "kind": "app",
        "version": "0.6.0",
        "workflow": {"features": features, "graph": {"nodes": nodes, "edges": edges}},
    }


def dsl_backend(tmp_path: Path, dsl: dict[str, Any], **entry: Any) -> AppBackend:
    (tmp_path / "app.yml").write_text(yaml.safe_dump(dsl, allow_unicode=True))
    app = load_dsl_app({"id": "app", "dsl": "app.yml", **entry}, tmp_path, "test")
    return AppBackend([], dsl_apps=[app])


#: Start (topic, level) -> Template -> IF/ELSE (level > 3) -> LLM | Code -> Aggregator -> End
FLOW_NODES = [
    node(
        "start",
        type="start",
        variables=[
            {"label": "Topic", "variable": "topic", "type": "text-input", "required": True, "max_length": 10},
            {"label": "Level", "variable": "level", "type": "number", "required": False},
        ],
    ),
    node(
        "tpl",
        type="template-transform",
        template="About {{ topic | upper }}",
        variables=[{"variable": "topic", "value_selector": ["start", "topic"]}],
    ),
    node(
        "check",
        type="if-else",
        cases=[
            {
                "case_id": "deep",
                "logical_operator": "and",
                "conditions": [
                    {"variable_selector": ["start", "level"], "comparison_operator": ">", "value": "3"},
                    {"variable_selector": ["tpl", "output"], "comparison_operator": "start with", "value": "About"},
                ],
            }
        ],
    ),
    node("llm", type="llm"),
    node("code", type="code", outputs={"result": {"type": "string"}}, variables=[]),
    node("agg", type="variable-aggregator", variables=[["llm", "text"], ["code", "result"]]),
    node(
        "end",
        type="end",
        outputs=[
            {"variable": "title", "value_selector": ["tpl", "output"]},
            {"variable": "body", "value_selector": ["agg", "output"]},
        ],
    ),
]
FLOW_EDGES = [
    edge("start", "tpl"),
    edge("tpl", "check"),
    edge("check", "llm", "deep"),
    edge("check", "code", "false"),
    edge("llm", "agg"),
    edge("code", "agg"),
    edge("agg", "end"),
]


def test_a_workflow_walks_the_branch_its_if_else_takes_and_streams_the_end_outputs(tmp_path: Path) -> None:
    b = dsl_backend(tmp_path, export("workflow", FLOW_NODES, FLOW_EDGES), nodes={"llm": {"text": "Deep dive."}})
    events = collect(b, flow_request("app", {"topic": "ducks", "level": 5}))
    started = [e["data"]["node_id"] for e in of_kind(events, "node_started")]
    assert started == ["start", "tpl", "check", "llm", "agg", "end"]
    chunks = [(e["data"]["text"], e["data"]["from_variable_selector"]) for e in of_kind(events, "text_chunk")]
    assert chunks == [
        ("About DUCKS", ["tpl", "output"]),
        ("\n", ["end", "answer"]),
        ("Deep dive.", ["agg", "output"]),  # once the aggregator has it (recorded: inner_wf_stream_good)
    ]
    # the End is sure to run once the IF/ELSE has chosen: its title streams inside that node
    at = kinds(events).index("text_chunk")
    assert events[at - 1]["event"] == "node_started"
    assert events[at - 1]["data"]["node_id"] == "check"
    check = next(e["data"] for e in of_kind(events, "node_finished") if e["data"]["node_id"] == "check")
    assert check["outputs"] == {"result": True, "selected_case_id": "deep"}
    assert check["process_data"]["condition_results"][0]["results"] == [True, True]
    finished = events[-1]["data"]
    assert (finished["status"], finished["total_steps"]) == ("succeeded", 6)
    assert finished["outputs"] == {"title": "About DUCKS", "body": "Deep dive."}


def test_the_other_branch_runs_a_code_node_with_its_declared_outputs_unless_scripted(tmp_path: Path) -> None:
    dsl = export("workflow", FLOW_NODES, FLOW_EDGES)
    events = collect(dsl_backend(tmp_path, dsl), flow_request("app", {"topic": "ducks", "level": 1}))
    assert [e["data"]["node_id"] for e in of_kind(events, "node_started")] == [
        "start",
        "tpl",
        "check",
        "code",
        "agg",
        "end",
    ]
    assert events[-1]["data"]["outputs"] == {"title": "About DUCKS", "body": ""}
    scripted = dsl_backend(tmp_path, dsl, nodes={"code": {"outputs": {"result": "from code"}}})
    [result] = collect(scripted, flow_request("app", {"topic": "ducks"}, mode="blocking"))
    assert result["data"]["outputs"] == {"title": "About DUCKS", "body": "from code"}


def test_a_scripted_failure_fails_the_node_and_the_run(tmp_path: Path) -> None:
    b = dsl_backend(tmp_path, export("workflow", FLOW_NODES, FLOW_EDGES), nodes={"code": {"fail": "no sandbox"}})
    events = collect(b, flow_request("app", {"topic": "ducks"}))
    assert kinds(events)[-2:] == ["node_finished", "workflow_finished"]
    assert (events[-2]["data"]["status"], events[-2]["data"]["error"]) == ("failed", "no sandbox")
    assert (events[-1]["data"]["status"], events[-1]["data"]["outputs"]) == ("failed", {})
    [blocking] = collect(b, flow_request("app", {"topic": "ducks"}, mode="blocking"))
    assert blocking["data"]["status"] == "failed"  # a failed workflow is no error: 200


def test_inputs_are_checked_with_difys_rules_and_messages(tmp_path: Path) -> None:
    b = dsl_backend(tmp_path, export("workflow", FLOW_NODES, FLOW_EDGES))
    for inputs, message in [
        ({}, "topic is required in input form"),
        ({"topic": "x" * 11}, "topic in input form must be less than 10 characters"),
        ({"topic": 3}, "(type 'text-input') topic in input form must be a string"),
        ({"topic": "a", "level": "many"}, "level in input form must be a valid number"),
    ]:
        events, error = collect_failure(b, flow_request("app", inputs))
        assert (events, error.status, error.message) == ([], 400, message)


def test_parameters_come_from_the_start_node_and_features_as_dify_derives_them(tmp_path: Path) -> None:
    dsl = export("advanced-chat", FLOW_NODES[:1], [], opening_statement="Hi!", suggested_questions=["Why?"])
    parameters = dsl_backend(tmp_path, dsl).fetch_app("app")
    assert (parameters["opening_statement"], parameters["suggested_questions"]) == ("Hi!", ["Why?"])
    assert parameters["user_input_form"] == [
        {
            "text-input": {
                "label": "Topic",
                "variable": "topic",
                "type": "text-input",
                "required": True,
                "max_length": 10,
            }
        },
        {"number": {"label": "Level", "variable": "level", "type": "number", "required": False}},
    ]
    # features the export leaves out get Dify's defaults
    assert parameters["sensitive_word_avoidance"] == {"enabled": False, "type": "", "configs": []}
    assert parameters["file_upload"]["image"]["enabled"] is False


def test_a_chatflow_streams_an_answer_with_an_llm_inside_and_keeps_its_conversation(tmp_path: Path) -> None:
    nodes = [
        node("start", type="start", variables=[]),
        node("llm", type="llm"),
        node("answer", type="answer", answer="You said {{#sys.query#}}: {{#llm.text#}}"),
    ]
    dsl = export("advanced-chat", nodes, [edge("start", "llm"), edge("llm", "answer")])
    b = dsl_backend(tmp_path, dsl, nodes={"llm": {"text": "Quack quack."}})
    events = collect(b, chat_request("app", "hi"))
    assert [(e["answer"], e["from_variable_selector"]) for e in of_kind(events, "message")] == [
        ("You said ", ["answer", "answer"]),
        ("hi", ["sys", "query"]),
        (": ", ["answer", "answer"]),
        ("Quack", ["llm", "text"]),
        (" quack.", ["llm", "text"]),
    ]
    assert kinds(events)[-2:] == ["message_end", "workflow_finished"]
    assert events[-1]["data"]["outputs"] == {"answer": "You said hi: Quack quack.", "files": []}
    again = collect(b, chat_request("app", "more", conversation_id=events[0]["conversation_id"]))
    assert again[0]["data"]["inputs"]["sys.dialogue_count"] == 2
    [blocking] = collect(b, chat_request("app", "hi", mode="blocking"))
    assert blocking["answer"] == "You said hi: Quack quack."


def test_a_question_classifier_takes_its_scripted_class_or_the_first(tmp_path: Path) -> None:
    classes = [{"id": "1", "name": "ducks"}, {"id": "2", "name": "geese"}]
    nodes = [
        node("start", type="start", variables=[]),
        node("classify", type="question-classifier", classes=classes),
        node("a", type="answer", answer="About ducks"),
        node("b", type="answer", answer="About geese"),
    ]
    edges = [edge("start", "classify"), edge("classify", "a", "1"), edge("classify", "b", "2")]
    dsl = export("advanced-chat", nodes, edges)
    for script, answer in [({}, "About ducks"), ({"classify": {"branch": "2"}}, "About geese")]:
        [result] = collect(dsl_backend(tmp_path, dsl, nodes=script), chat_request("app", "q", mode="blocking"))
        assert result["answer"] == answer


@pytest.mark.parametrize(
    ("actual", "operator", "expected", "result"),
    [
        ("hello duck", "contains", "duck", True),
        ("hello duck", "not contains", "duck", False),
        ("hello duck", "start with", "hello", True),
        ("hello duck", "end with", "hello", False),
        ("long", "is", "long", True),
        ("long", "is not", "long", False),
        ("", "empty", None, True),
        ([], "not empty", None, False),
        (None, "null", None, True),
        ("x", "not null", None, True),
        (3, "=", "3", True),
        (3, "≠", "3", False),
        (4, ">", "3", True),
        (4, "<", "3", False),
        (3, "≥", "3", True),
        (2, "≤", "1.5", False),
        (["a", "b"], "contains", "a", True),
        ("b", "in", ["a", "b"], True),
        ("c", "not in", ["a", "b"], True),
        (["a", "b"], "all of", ["a"], True),
        (None, "contains", "x", False),
        (None, "is not", "x", False),
        (None, "not contains", "x", True),
        ("", "start with", "", False),
    ],
)
def test_if_else_compares_with_difys_operators(actual: Any, operator: str, expected: Any, result: bool) -> None:
    assert compare(actual, operator, expected) is result


def test_a_dsl_entry_in_devkit_yaml_is_read_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "flow.yml").write_text((RECORDED / "apps" / "chatflow.yml").read_text())
    config = tmp_path / "devkit.yaml"
    config.write_text(
        "endpoints: [{hook_id: a, settings: {greeting: hi}}]\napps:\n  - {id: my-flow, dsl: apps/flow.yml}\n"
    )
    [app] = load_config(config, load_plugin(PROBE_PLUGIN).settings).dsl_apps
    assert (app.id, app.mode, app.name) == ("my-flow", "advanced-chat", "realdify-chatflow")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"dsl": "missing.yml"}, "dsl: "),
        ({"dsl": "chatflow.yml", "nodes": {"nope": {"text": "x"}}}, "nodes.nope: the graph has no such node"),
        ({"dsl": "chatflow.yml", "text": "x"}, "text/fail: only chat and completion apps"),
        ({"dsl": "chatflow.yml", "bogus": 1}, "bogus: "),
        ({"dsl": "chatflow.yml", "quirks": {"nope": False}}, "quirks: unknown quirk 'nope'"),
    ],
)
def test_a_bad_dsl_entry_is_a_config_error_naming_the_problem(entry: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_dsl_app({"id": "x", **entry}, RECORDED / "apps", "devkit.yaml: apps[0]")
    assert expected in str(raised.value)
    assert "devkit.yaml: apps[0]" in str(raised.value)


def test_an_if_else_with_an_operator_the_devkit_cannot_evaluate_is_refused_at_start_up(tmp_path: Path) -> None:
    condition = {"variable_selector": ["sys", "query"], "comparison_operator": "matches regex", "value": "x"}
    nodes = [node("start", type="start", variables=[]), node("check", type="if-else", cases=[
        {"case_id": "true", "logical_operator": "and", "conditions": [condition]}
    ])]  # fmt: skip
    (tmp_path / "app.yml").write_text(yaml.safe_dump(export("workflow", nodes, [edge("start", "check")])))
    with pytest.raises(ConfigError, match="node 'check': comparison operator 'matches regex' is not supported"):
        load_dsl_app({"id": "x", "dsl": "app.yml"}, tmp_path, "test")


def test_a_dsl_of_an_unsupported_mode_is_refused(tmp_path: Path) -> None:
    (tmp_path / "agent.yml").write_text(yaml.safe_dump({"app": {"mode": "agent-chat", "name": "a"}}))
    with pytest.raises(ConfigError, match=r"app\.mode 'agent-chat': the devkit runs"):
        load_dsl_app({"id": "x", "dsl": "agent.yml"}, tmp_path, "test")
