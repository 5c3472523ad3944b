"""Demo apps have Dify's input form: every variable type, Dify's checks and messages
(BaseAppGenerator._validate_inputs), file inputs resolved like the file factory does,
and the form as `fetch_app` shows it."""

from __future__ import annotations

from typing import Any

import pytest
from app_support import (
    COMPLETION_WORKS,
    StoredFile,
    app,
    backend,
    chat_request,
    collect,
    collect_failure,
    flow_request,
    tool_file,
)

from dify_plugin_devkit._apps import DEFAULT_APPS_FILE, AppBackend, parse_apps
from dify_plugin_devkit._errors import ConfigError

FILES = {
    "f-pdf": StoredFile("report.pdf", "application/pdf", 1234, ".pdf"),
    "f-png": StoredFile("duck.png", "image/png", 10, ".png"),
    "f-bin": StoredFile("blob", "application/octet-stream", 3, "bin"),
}


def form_app(*variables: dict[str, Any], mode: str = "workflow") -> Any:
    names = " ".join(f"{{{{{v['name']}}}}}" for v in variables)
    script = {"workflow": "workflow", "completion": "completion"}.get(mode, "answer")
    return app(id="form", mode=mode, script=script, answer=f"Got {names}.", variables=list(variables))


def answer_of(events: list[dict[str, Any]]) -> str:
    """The workflow's output text (a workflow) or its joined messages."""
    if events[-1]["event"] == "workflow_finished":
        return str(events[-1]["data"]["outputs"]["text"])
    return "".join(e["answer"] for e in events if e["event"] == "message")


def run(*variables: dict[str, Any], inputs: dict[str, Any], lookup: Any = FILES.get) -> str:
    return answer_of(collect(backend(form_app(*variables), file_lookup=lookup), flow_request("form", inputs)))


def failure(*variables: dict[str, Any], inputs: dict[str, Any], lookup: Any = FILES.get) -> tuple[int | None, str]:
    _, error = collect_failure(backend(form_app(*variables), file_lookup=lookup), flow_request("form", inputs))
    return error.status, error.message


# --- value checks, in Dify's words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ({"type": "select", "options": ["a", "b"]}, "c", "v in input form must be one of the following: ['a', 'b']"),
        ({"type": "select", "options": ["a"]}, 1, "(type 'select') v in input form must be a string"),
        ({"type": "paragraph"}, ["x"], "(type 'paragraph') v in input form must be a string"),
        ({"type": "text-input", "max_length": 3}, "abcd", "v in input form must be less than 3 characters"),
        ({"type": "number"}, "12a", "v in input form must be a valid number"),
        ({"type": "file"}, "not a file", "v in input form must be a file"),
        ({"type": "file-list"}, tool_file("f-pdf"), "v in input form must be a list of files"),
        ({"type": "file-list", "max_length": 1}, [tool_file("f-pdf")] * 2, "v in input form must be less than 1 files"),
        ({"type": "checkbox"}, {"x": 1}, "Invalid input type"),
    ],
)
def test_invalid_values_are_refused_with_difys_messages(variable: dict[str, Any], value: Any, message: str) -> None:
    assert failure({"name": "v", **variable}, inputs={"v": value}) == (400, message)


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ({"type": "number"}, "2.5", "2.5"),
        ({"type": "number"}, "7", "7"),
        ({"type": "number"}, 3, "3"),
        ({"type": "number", "required": False}, " ", ""),
        ({"type": "checkbox"}, "Yes", "true"),
        ({"type": "checkbox"}, 0, "false"),
        ({"type": "select", "options": ["a", "b"]}, "b", "b"),
        ({"type": "paragraph"}, "line\x00one", "lineone"),
    ],
)
def test_values_are_converted_as_dify_does(variable: dict[str, Any], value: Any, shown: str) -> None:
    assert run({"name": "v", **variable}, inputs={"v": value}) == f"Got {shown}."


def test_a_number_of_another_type_is_difys_unexpected_500() -> None:
    """_validate_inputs raises a TypeError here, which Dify's API answers with its generic 500."""
    status, message = failure({"name": "v", "type": "number"}, inputs={"v": [1]})
    assert (status, message) == (500, "Internal Server Error")


def test_a_missing_optional_value_takes_the_default() -> None:
    variables = [
        {"name": "s", "required": False, "default": "dflt"},
        {"name": "n", "type": "number", "required": False, "default": 4},
        {"name": "c", "type": "checkbox", "required": False, "default": True},
    ]
    assert run(*variables, inputs={}) == "Got dflt 4 true."


def test_required_values_are_checked_in_form_order_before_files() -> None:
    variables = [{"name": "doc", "type": "file"}, {"name": "topic"}]
    assert failure(*variables, inputs={"doc": tool_file("missing")}) == (400, "topic is required in input form")


# --- file inputs ----------------------------------------------------------------------------


def test_tool_files_resolve_to_name_type_and_size() -> None:
    variables = [{"name": "doc", "type": "file"}, {"name": "more", "type": "file-list", "required": False}]
    inputs = {"doc": tool_file("f-pdf", "document"), "more": [tool_file("f-png", "image"), tool_file("f-bin")]}
    assert run(*variables, inputs=inputs) == (
        "Got report.pdf (document, 1234 bytes) duck.png (image, 10 bytes), blob (custom, 3 bytes)."
    )


def test_the_file_type_comes_from_the_mapping_unless_custom() -> None:
    """Without strict type validation (a completion app here)."""
    spec = form_app({"name": "f", "type": "file"}, mode="completion")

    def answer(file_type: str) -> str:
        return answer_of(
            collect(backend(spec, file_lookup=FILES.get), flow_request("form", {"f": tool_file("f-png", file_type)}))
        )

    assert answer("document") == "Got duck.png (document, 10 bytes)."
    assert answer("custom") == "Got duck.png (image, 10 bytes)."
    _, error = collect_failure(
        backend(spec, file_lookup=FILES.get), flow_request("form", {"f": tool_file("f-png", "pdf")})
    )
    assert (error.status, error.message) == (400, "'pdf' is not a valid FileType")


def test_a_workflow_refuses_a_declared_type_other_than_the_detected_one() -> None:
    """Dify's workflow generator validates file types strictly for plugin calls (InvokeFrom.SERVICE_API):
    `UploadFileResponse.to_app_parameter()` says "document" for any file that is not an image, audio or
    video, which Dify refuses for a file it detects as `custom` (a zip, a JSON file)."""
    variables = [{"name": "f", "type": "file"}]
    mismatch = (400, "Detected file type does not match the specified type. Please verify the file.")
    assert failure(*variables, inputs={"f": tool_file("f-png", "document")}) == mismatch
    assert failure(*variables, inputs={"f": tool_file("f-bin", "document")}) == mismatch
    assert run(*variables, inputs={"f": tool_file("f-bin", "custom")}) == "Got blob (custom, 3 bytes)."
    assert run(*variables, inputs={"f": tool_file("f-png")}) == "Got duck.png (image, 10 bytes)."  # no type: detected


def test_an_unknown_tool_file_fails_as_in_the_file_factory() -> None:
    assert failure({"name": "f", "type": "file"}, inputs={"f": tool_file("nope")}) == (400, "ToolFile nope not found")
    listed = failure({"name": "f", "type": "file-list"}, inputs={"f": [tool_file("f-pdf"), tool_file("nope")]})
    assert listed == (400, "ToolFile nope not found")


def test_file_mappings_dify_cannot_build_are_refused_or_dropped() -> None:
    single = [{"name": "f", "type": "file"}]
    assert failure(*single, inputs={"f": {"tool_file_id": "f-pdf"}}) == (
        400,
        "transfer_method is required in file mapping",
    )
    assert failure(*single, inputs={"f": {"transfer_method": "ftp"}}) == (400, "No matching enum found for value 'ftp'")
    status, message = failure(*single, inputs={"f": {"transfer_method": "local_file", "upload_file_id": "x"}})
    assert status == 400
    assert message.startswith("devkit: cannot resolve a local_file file")
    # a file list silently drops the mappings the file factory would not even try
    listed = [{"name": "f", "type": "file-list"}]
    assert (
        run(*listed, inputs={"f": [{"tool_file_id": "x"}, tool_file("f-pdf")]})
        == "Got report.pdf (document, 1234 bytes)."
    )


def test_without_a_file_lookup_a_file_input_fails_with_a_devkit_message() -> None:
    status, message = failure({"name": "f", "type": "file"}, inputs={"f": tool_file("f-pdf")}, lookup=None)
    assert status == 400
    assert message.startswith("devkit: cannot resolve ToolFile f-pdf: this devkit run has no file storage")


def test_optional_empty_file_values_are_unset() -> None:
    variables = [
        {"name": "f", "type": "file", "required": False},
        {"name": "g", "type": "file-list", "required": False},
    ]
    assert run(*variables, inputs={"f": "", "g": []}) == "Got  ."


def test_workflow_events_carry_files_as_dify_file_mappings() -> None:
    spec = form_app({"name": "doc", "type": "file"})
    events = collect(backend(spec, file_lookup=FILES.get), flow_request("form", {"doc": tool_file("f-pdf")}))
    doc = events[0]["data"]["inputs"]["doc"]
    assert doc == {
        "dify_model_identity": "__dify__file__",
        "id": None,
        "type": "document",
        "transfer_method": "tool_file",
        "remote_url": None,
        "related_id": "f-pdf",
        "filename": "report.pdf",
        "extension": ".pdf",
        "mime_type": "application/pdf",
        "size": 1234,
    }
    assert events[2]["data"]["outputs"]["doc"] == doc  # the start node's


def test_a_chat_app_resolves_file_inputs_of_a_new_conversation() -> None:
    spec = form_app({"name": "doc", "type": "file"}, mode="chat")
    events = collect(
        backend(spec, file_lookup=FILES.get), chat_request("form", "q", inputs={"doc": tool_file("f-png")})
    )
    assert answer_of(events) == "Got duck.png (image, 10 bytes)."


@pytest.mark.parametrize("app_id", ["demo-file-echo", "demo-completion-file-echo"])
@pytest.mark.parametrize("response_mode", ["streaming", "blocking"])
def test_file_echo_demo_apps_answer_with_what_they_received(app_id: str, response_mode: str) -> None:
    b = AppBackend.from_files(DEFAULT_APPS_FILE, file_lookup=FILES.get, dify=COMPLETION_WORKS)
    inputs = {"document": tool_file("f-pdf", "document"), "attachments": [tool_file("f-png", "image")]}
    events = collect(b, flow_request(app_id, inputs, mode=response_mode))
    expected = "Received document: report.pdf (document, 1234 bytes); attachments: duck.png (image, 10 bytes)."
    if response_mode == "blocking":
        [result] = events
        got = result["data"]["outputs"]["text"] if app_id == "demo-file-echo" else result["answer"]
        assert got == expected
    else:
        assert answer_of(events) == expected
    _, error = collect_failure(b, flow_request(app_id, {}, mode=response_mode))
    assert error.message == "document is required in input form"


# --- the form as fetch_app shows it ---------------------------------------------------------


def test_user_input_form_items_have_difys_shapes() -> None:
    variables = [
        {"name": "t", "label": "Topic", "max_length": 48},
        {"name": "p", "type": "paragraph", "required": False},
        {"name": "s", "type": "select", "options": ["x", "y"], "default": "y"},
        {"name": "n", "type": "number", "required": False},
        {"name": "c", "type": "checkbox", "required": False, "default": False},
        {
            "name": "f",
            "type": "file",
            "allowed_file_types": ["document"],
            "allowed_file_upload_methods": ["local_file"],
        },
        {"name": "l", "type": "file-list", "max_length": 3, "allowed_file_extensions": [".pdf"]},
    ]
    chat = backend(form_app(*variables, mode="chat")).fetch_app("form")["user_input_form"]
    assert chat == [
        # no `default` unless the app sets one (recorded: inner_fetch_app_workflow)
        {"text-input": {"label": "Topic", "variable": "t", "required": True, "max_length": 48}},
        {"paragraph": {"label": "p", "variable": "p", "required": False, "max_length": None}},
        {"select": {"label": "s", "variable": "s", "required": True, "default": "y", "options": ["x", "y"]}},
        {"number": {"label": "n", "variable": "n", "required": False}},
        {"checkbox": {"label": "c", "variable": "c", "required": False, "default": False}},
        {"file": {
            "label": "f", "variable": "f", "required": True, "allowed_file_types": ["document"],
            "allowed_file_extensions": [], "allowed_file_upload_methods": ["local_file"],
        }},
        {"file-list": {
            "label": "l", "variable": "l", "required": True, "max_length": 3, "allowed_file_types": [],
            "allowed_file_extensions": [".pdf"], "allowed_file_upload_methods": [],
        }},
    ]  # fmt: skip
    workflow = backend(form_app(*variables)).fetch_app("form")["user_input_form"]
    assert [next(iter(item.values()))["type"] for item in workflow] == [
        "text-input", "paragraph", "select", "number", "checkbox", "file", "file-list",
    ]  # fmt: skip
    assert all("options" in next(iter(item.values())) for item in workflow)


def test_parameters_show_the_apps_features() -> None:
    spec = app(id="c", mode="chat", script="echo", opening_statement="Hello!", suggested_questions=["Why?"], tts=True)
    parameters = backend(spec).fetch_app("c")
    assert (parameters["opening_statement"], parameters["suggested_questions"]) == ("Hello!", ["Why?"])
    assert parameters["text_to_speech"]["enabled"] is True
    assert parameters["file_upload"] == {"enabled": False}  # off: no further keys (inner_fetch_app_chatflow)
    assert parameters["system_parameters"]["workflow_file_upload_limit"] == 10


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ({"type": "text-input", "options": ["a"]}, "options: only a select variable has options"),
        ({"type": "select"}, "options: a select variable needs at least one option"),
        ({"type": "number", "max_length": 3}, "max_length: only text-input, paragraph and file-list"),
        ({"type": "text-input", "allowed_file_types": ["image"]}, "allowed_file_types: only file and file-list"),
        ({"type": "file", "allowed_file_types": ["pdf"]}, r"allowed_file_types\[0\]: Input should be"),
        ({"type": "file", "default": "x"}, "default: a file variable has no default"),
        ({"type": "number", "default": "3"}, "default: a number variable's default is a number"),
        ({"type": "checkbox", "default": 1}, "default: a checkbox variable's default is true or false"),
        ({"type": "select", "options": ["a"], "default": "b"}, "default: must be one of the options"),
    ],
)
def test_inconsistent_variable_knobs_are_rejected(variable: dict[str, Any], expected: str) -> None:
    declared = {"id": "a", "name": "A", "mode": "workflow", "script": "workflow", "answer": "x"}
    with pytest.raises(ConfigError, match=expected):
        parse_apps({"apps": [{**declared, "variables": [{"name": "v", **variable}]}]}, "t")


def test_string_is_still_accepted_as_text_input() -> None:
    [spec] = parse_apps({"apps": [{"id": "a", "name": "A", "mode": "chat", "script": "echo",
                                   "variables": [{"name": "v", "type": "string"}]}]}, "t")  # fmt: skip
    assert spec.variables[0].dify_type == "text-input"
    assert "text-input" in backend(spec).fetch_app("a")["user_input_form"][0]
