"""gallery.mcp.tools: tools from the settings, schemas from the apps' forms, arguments checked."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from gallery.mcp import tools
from provider import app_form, files
from provider.errors import AppNotConfigured, FileRejected, FileTooLarge
from provider.settings import EndpointSettings

APPS = {"chat_app": {"app_id": "c"}, "workflow_app": {"app_id": "w"}, "completion_app": {"app_id": "p"}}
FORM = {
    "user_input_form": [
        {"text-input": {"variable": "title", "label": "Title", "required": True, "max_length": 5, "default": "Hi"}},
        {"paragraph": {"variable": "notes", "label": "Notes", "required": False}},
        {"select": {"variable": "tone", "label": "Tone", "required": True, "options": ["calm", "loud"]}},
        {"number": {"variable": "count", "label": "Count", "required": False, "default": 3}},
        {"checkbox": {"variable": "urgent", "label": "Urgent", "required": False}},
        {"file": {"variable": "photo", "label": "Photo", "required": False, "allowed_file_types": ["image"]}},
        {"file-list": {"variable": "docs", "label": "Docs", "required": False, "max_length": 2}},
    ]
}
FIELDS = app_form.parse_form(FORM)
INPUT_FORM = files.InputForm.from_parameters(FORM)


def configured(settings: dict[str, Any]) -> list[tools.Tool]:
    return tools.configured_tools(settings, EndpointSettings.parse(settings))


def test_one_tool_per_app_set_with_default_names_titles_and_descriptions() -> None:
    offered = configured(APPS)
    assert [(t.name, t.kind, t.setting, t.app_id) for t in offered] == [
        ("chat", "chat", "chat_app", "c"),
        ("run_workflow", "workflow", "workflow_app", "w"),
        ("complete_text", "completion", "completion_app", "p"),
    ]
    assert [t.title for t in offered] == ["Ask the chat app", "Run the workflow", "Generate text"]
    assert all(len(t.description) > 40 for t in offered)
    assert configured({"workflow_app": {"app_id": "w"}})[0].name == "run_workflow"
    assert configured({}) == []


def test_the_owner_titles_and_describes_a_tool_and_its_name_follows_the_title() -> None:
    settings = {
        **APPS,
        "mcp_workflow_tool_title": " Summarise a topic ",
        "mcp_workflow_tool_description": "Writes a summary.",
    }
    tool = configured(settings)[1]
    assert (tool.name, tool.title, tool.description) == ("summarise_a_topic", "Summarise a topic", "Writes a summary.")


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Summarise a topic", "summarise_a_topic"),
        ("  Ask: the DUCK (v2)!  ", "ask_the_duck_v2"),
        ("运行工作流", ""),
        ("工作流 Report", "report"),
        ("x" * 70, "x" * 64),
        ("a " * 40, "_".join("a" * 32)[:64].strip("_")),
    ],
)
def test_tool_names_from_titles(title: str, name: str) -> None:
    assert tools.tool_name(title) == name
    assert name == "" or re.fullmatch(r"[a-z0-9_]{1,64}", name)


def test_a_title_in_another_script_keeps_the_default_name() -> None:
    assert configured({**APPS, "mcp_chat_tool_title": "询问聊天应用"})[0].name == "chat"


def test_two_titles_giving_one_name_are_reported_naming_the_setting() -> None:
    with pytest.raises(AppNotConfigured) as error:
        configured({**APPS, "mcp_completion_tool_title": "Run workflow!"})
    assert "`mcp_completion_tool_title`" in error.value.message
    assert "`run_workflow`" in error.value.message


def test_a_title_that_is_not_text_names_its_setting() -> None:
    """The kit's `settings.text_setting` reads it: not text is the owner's mistake to fix."""
    with pytest.raises(AppNotConfigured) as error:
        configured({**APPS, "mcp_chat_tool_title": ["Ask"]})
    assert error.value.code == "setting_invalid"
    assert "`mcp_chat_tool_title`" in error.value.message


def test_the_schema_is_the_apps_form() -> None:
    schema = tools.form_schema(FIELDS)
    assert schema["required"] == ["title", "tone"]
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert properties["title"] == {"type": "string", "maxLength": 5, "description": "Title", "default": "Hi"}
    assert properties["notes"] == {"type": "string", "description": "Notes"}
    assert properties["tone"] == {"type": "string", "enum": ["calm", "loud"], "description": "Tone"}
    assert properties["count"] == {"type": "number", "description": "Count", "default": 3}
    assert properties["urgent"] == {"type": "boolean", "description": "Urgent"}
    assert properties["photo"]["type"] == "object"
    assert properties["photo"]["oneOf"] == [{"required": ["url"]}, {"required": ["content", "filename"]}]
    assert "image/*" in properties["photo"]["description"]
    assert properties["docs"]["type"] == "array"
    assert properties["docs"]["maxItems"] == 2


def test_the_schema_follows_the_form_when_it_changes() -> None:
    tool = configured(APPS)[1]
    before = tools.definition(tool, FIELDS)["inputSchema"]
    changed = {"user_input_form": [{"number": {"variable": "pages", "label": "Pages", "required": True}}]}
    after = tools.definition(tool, app_form.parse_form(changed))["inputSchema"]
    assert before != after
    assert after == {
        "type": "object",
        "properties": {"pages": {"type": "number", "description": "Pages"}},
        "required": ["pages"],
        "additionalProperties": False,
    }
    assert tools.definition(configured(APPS)[0], [])["inputSchema"] == tools.CHAT_SCHEMA


def test_a_chat_apps_own_form_is_its_tools_inputs() -> None:
    schema = tools.definition(configured(APPS)[0], FIELDS)["inputSchema"]
    assert list(schema["properties"]) == ["query", "conversation_id", "inputs"]
    assert schema["required"] == ["query", "inputs"]
    assert schema["properties"]["inputs"]["properties"] == tools.form_schema(FIELDS)["properties"]
    optional = app_form.parse_form({"user_input_form": [{"paragraph": {"variable": "notes", "label": "Notes"}}]})
    assert tools.chat_schema(optional)["required"] == ["query"]


def form_arguments(arguments: dict[str, Any], max_bytes: int = 1000) -> tools.FormArguments:
    return tools.form_arguments(FIELDS, INPUT_FORM, arguments, max_bytes)


def test_good_arguments_become_inputs() -> None:
    checked = form_arguments({"title": "Ducks", "tone": "calm", "count": 2.5, "urgent": False})
    assert checked.inputs == {"title": "Ducks", "tone": "calm", "count": 2.5, "urgent": False}
    assert checked.uploads == {}


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"tone": "calm"}, "`title` (Title) is required."),
        ({"title": "  ", "tone": "calm"}, "`title` (Title) is required: it is empty."),
        ({"title": "toolong", "tone": "calm"}, "`title` is too long (7 characters; at most 5)."),
        ({"title": 5, "tone": "calm"}, "`title` must be a string."),
        ({"title": "a", "tone": "angry"}, "`tone` must be one of: calm, loud."),
        ({"title": "a", "tone": "calm", "count": True}, "`count` must be a number."),
        ({"title": "a", "tone": "calm", "count": "3"}, "`count` must be a number."),
        ({"title": "a", "tone": "calm", "urgent": "yes"}, "`urgent` must be true or false."),
        ({"title": "a", "tone": "calm", "mood": 1}, "Unknown argument `mood`: this tool takes `title`, `notes`, "
         "`tone`, `count`, `urgent`, `photo`, `docs`."),
        ({"title": "a", "tone": "calm", "docs": {"url": "https://x.test/a.pdf"}}, "`docs` must be a list of files."),
        ({"title": "a", "tone": "calm", "docs": [{"url": "https://x.test/a.pdf"}] * 3},
         "`docs` takes at most 2 files; 3 were sent."),
        ({"title": "a", "tone": "calm", "photo": "x.png"},
         "`photo`: a file is an object with `url`, or `content` and `filename`."),
        ({"title": "a", "tone": "calm", "photo": {"url": "https://x.test/a.png", "content": "eA=="}},
         "`photo`: give a file either as `url` or as `content` (not both)."),
        ({"title": "a", "tone": "calm", "photo": {"path": "/etc/passwd"}}, "`photo`: unknown file field `path`."),
        ({"title": "a", "tone": "calm", "photo": {"url": "file:///etc/passwd"}},
         "`photo`: `url` must be an http(s) URL of at most 2048 characters."),
        ({"title": "a", "tone": "calm", "photo": {"url": "https://x.test/a.pdf"}},
         "`photo` does not take this file: the app accepts image files there."),
        ({"title": "a", "tone": "calm", "photo": {"content": "eA=="}},
         "`photo`: `filename` (with its extension) must be given with `content`."),
        ({"title": "a", "tone": "calm", "photo": {"content": "!!", "filename": "a.png"}},
         "`photo`: `content` is not valid base64."),
        ({"title": "a", "tone": "calm", "photo": {"content": 5, "filename": "a.png"}},
         "`photo`: `content` must be the file's bytes as a base64 string."),
    ],
)  # fmt: skip
def test_refused_arguments_say_what_is_wrong(arguments: dict[str, Any], says: str) -> None:
    with pytest.raises(tools.ToolInputRefused) as error:
        form_arguments(arguments)
    assert error.value.message == says


def test_files_are_checked_against_the_form_before_anything_is_uploaded() -> None:
    pdf = {"content": base64.b64encode(b"%PDF").decode(), "filename": "a.pdf"}
    with pytest.raises(FileRejected):
        form_arguments({"title": "a", "tone": "calm", "photo": pdf})
    big = {"content": base64.b64encode(b"x" * 2000).decode(), "filename": "a.png"}
    with pytest.raises(FileTooLarge):
        form_arguments({"title": "a", "tone": "calm", "photo": big})


def test_urls_and_uploads_keep_their_order_in_a_file_list() -> None:
    docs = [{"url": "https://x.test/a.pdf"}, {"content": base64.b64encode(b"hi").decode(), "filename": "b.txt"}]
    checked = form_arguments({"title": "a", "tone": "calm", "docs": docs})
    assert [part.filename for part in checked.uploads["docs"]] == ["b.txt"]
    assert checked.uploads["docs"][0].content == b"hi"
    uploaded = {"docs": [{"tool_file_id": "f1", "transfer_method": "tool_file", "type": "document"}]}
    assert tools.file_inputs(checked, uploaded, INPUT_FORM) == {
        "docs": [
            {"type": "document", "transfer_method": "remote_url", "url": "https://x.test/a.pdf"},
            {"tool_file_id": "f1", "transfer_method": "tool_file", "type": "document"},
        ]
    }


def test_a_single_file_by_url_is_one_value() -> None:
    checked = form_arguments({"title": "a", "tone": "calm", "photo": {"url": "https://x.test/duck.png"}})
    assert tools.file_inputs(checked, {}, INPUT_FORM) == {
        "photo": {"type": "image", "transfer_method": "remote_url", "url": "https://x.test/duck.png"}
    }


def test_inputs_over_the_size_limit_are_refused() -> None:
    fields = app_form.parse_form({"user_input_form": [{"paragraph": {"variable": "text", "label": "Text"}}]})
    with pytest.raises(tools.ToolInputRefused) as error:
        tools.form_arguments(fields, files.InputForm.from_parameters({}), {"text": "x" * 70_000}, 1000)
    assert error.value.message.startswith("The arguments are too large (")


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({}, "Type a question: `query` is empty."),
        ({"query": 3}, "`query` must be a string."),
        ({"query": "hi", "conversation_id": "nope"}, "`conversation_id` must be the id returned with a previous"),
        ({"query": "hi", "user": "me"}, "Unknown argument `user`: this tool takes `query` and `conversation_id`."),
        ({"query": "hi", "inputs": {}}, "Unknown argument `inputs`: this tool takes `query` and `conversation_id`."),
    ],
)
def test_chat_arguments(arguments: dict[str, Any], says: str) -> None:
    with pytest.raises(tools.ToolInputRefused) as error:
        tools.chat_arguments(arguments, has_form=False)
    assert error.value.message.startswith(says)


def test_chat_arguments_of_an_app_with_a_form() -> None:
    checked = tools.chat_arguments({"query": "hi", "inputs": {"title": "a"}}, has_form=True)
    assert checked.inputs == {"title": "a"}
    assert tools.chat_arguments({"query": "hi"}, has_form=True).inputs == {}
    with pytest.raises(tools.ToolInputRefused) as error:
        tools.chat_arguments({"query": "hi", "inputs": "title=a"}, has_form=True)
    assert error.value.message == "`inputs` must be an object: the chat app's inputs by name."
    with pytest.raises(tools.ToolInputRefused) as error:
        tools.chat_arguments({"query": "hi", "x": 1}, has_form=True)
    assert error.value.message == "Unknown argument `x`: this tool takes `query`, `conversation_id` and `inputs`."


def test_good_chat_arguments() -> None:
    conversation = "3f2b0f3e-9a4c-4c5e-8d3b-2a1b0c9d8e7f"
    checked = tools.chat_arguments({"query": "hi", "conversation_id": conversation}, has_form=False)
    assert (checked.query, checked.conversation_id, checked.inputs) == ("hi", conversation, {})
