"""One MCP tool per configured app: its title and description (settings the owner may
fill in; the name is made from the title), its input schema built from the app's own input form, and the
checks that turn a call's arguments into the app's inputs.

The schema is read from `fetch_app`'s `user_input_form` (via `provider.app_form`) on
every `tools/list` and `tools/call`, never written by hand, so it follows the app when
its form changes. A chat-type app's tool takes `query` and `conversation_id` (what
Dify's chat interface takes), and the app's own form as `inputs` when it has one.
File inputs take `{"url": ...}` (Dify downloads it: `transfer_method: remote_url`) or
`{"content": <base64>, "filename": ...}` (uploaded with `session.file.upload` like
/workflow's multipart files, after the same checks against the form: `provider.files`).

Refused arguments raise `ToolInputRefused`: a tool result with `isError: true` the
model can read and correct, not a protocol error (MCP's tools page says so).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from provider import app_form, files, parsing
from provider.apps import AppKind
from provider.errors import AppNotConfigured, BadRequest
from provider.limits import MAX_INPUTS_BYTES, MAX_QUERY_CHARS
from provider.settings import EndpointSettings, text_setting

#: (the app kind, the app-selector setting holding the app, the default tool name)
APPS: Final[tuple[tuple[AppKind, str, str], ...]] = (
    ("chat", "chat_app", "chat"),
    ("workflow", "workflow_app", "run_workflow"),
    ("completion", "completion_app", "complete_text"),
)
DEFAULT_TITLES: Final[dict[AppKind, str]] = {
    "chat": "Ask the chat app",
    "workflow": "Run the workflow",
    "completion": "Generate text",
}
DEFAULT_DESCRIPTIONS: Final[dict[AppKind, str]] = {
    "chat": (
        "Sends `query` to the Dify chat app of this endpoint and returns its answer with a `conversation_id`; "
        "pass that `conversation_id` back to continue the same conversation."
    ),
    "workflow": (
        "Runs the Dify workflow app of this endpoint with the inputs below and returns the workflow's outputs."
    ),
    "completion": "Runs the Dify text-generation app of this endpoint with the inputs below and returns its text.",
}
#: The words of a title that make its tool name (MCP allows `[A-Za-z0-9_.-]`, 1-64: 2025-11-25, "Tool names").
_WORD = re.compile(r"[a-z0-9]+")
MAX_TITLE_CHARS: Final = 100
MAX_DESCRIPTION_CHARS: Final = 2000


def title_setting(kind: AppKind) -> str:
    return f"mcp_{kind}_tool_title"


def description_setting(kind: AppKind) -> str:
    return f"mcp_{kind}_tool_description"


class ToolInputRefused(BadRequest):
    """Arguments the tool's schema (the app's form) does not accept."""

    code = "invalid_arguments"


@dataclass(frozen=True)
class Tool:
    """A configured app offered as a tool."""

    name: str
    title: str
    description: str
    kind: AppKind
    setting: str
    app_id: str


def configured_tools(settings: Mapping[str, Any], config: EndpointSettings) -> list[Tool]:
    """A tool for each app setting that holds an app. Its name is made from the title the
    owner set (`tool_name`), else the app kind's default; AppNotConfigured naming the
    setting when two tools would get the same name."""
    tools: list[Tool] = []
    for kind, setting, default_name in APPS:
        app_id = config.apps.get(setting)
        if app_id is None:
            continue
        title = _text(settings, title_setting(kind), MAX_TITLE_CHARS)
        name = tool_name(title) or default_name
        if any(tool.name == name for tool in tools):
            raise AppNotConfigured(
                f"The endpoint's `{title_setting(kind)}` setting gives the tool name `{name}`, which another app's "
                "tool has: choose another title."
            )
        tools.append(
            Tool(
                name=name,
                title=title or DEFAULT_TITLES[kind],
                description=_text(settings, description_setting(kind), MAX_DESCRIPTION_CHARS)
                or DEFAULT_DESCRIPTIONS[kind],
                kind=kind,
                setting=setting,
                app_id=app_id,
            )
        )
    return tools


def tool_name(title: str) -> str:
    """A tool name from a title: its ASCII letters and digits, lower case, words joined by
    `_`, at most 64 characters (what MCP allows in a name); "" when it has none."""
    return "_".join(_WORD.findall(title.lower()))[:64].strip("_")


def _text(settings: Mapping[str, Any], name: str, max_chars: int) -> str:
    return (text_setting(settings, name, required=False) or "").strip()[:max_chars]


# --- input schemas -------------------------------------------------------------------

CHAT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_QUERY_CHARS,
            "description": "The message to send to the chat app.",
        },
        "conversation_id": {
            "type": "string",
            "format": "uuid",
            "description": "The conversation_id of an earlier answer, to continue that conversation; "
            "leave it out to start a new one.",
        },
    },
    "required": ["query"],
    "additionalProperties": False,
}


def file_schema(field: app_form.FormField) -> dict[str, Any]:
    """One file: a URL Dify downloads, or base64 content the plugin uploads."""
    accepted = f" Accepted: {field.accept}." if field.accept else ""
    return {
        "type": "object",
        "description": f"{field.label}: a file, as `url` or as base64 `content` with its `filename`.{accepted}",
        "properties": {
            "url": {"type": "string", "format": "uri", "description": "An http(s) URL Dify downloads the file from."},
            "content": {"type": "string", "contentEncoding": "base64", "description": "The file's bytes in base64."},
            "filename": {"type": "string", "description": "The file's name with its extension, e.g. report.pdf."},
            "mime_type": {"type": "string", "description": "The file's MIME type (guessed from the name if absent)."},
        },
        "oneOf": [{"required": ["url"]}, {"required": ["content", "filename"]}],
        "additionalProperties": False,
    }


def property_schema(field: app_form.FormField) -> dict[str, Any]:
    """The JSON Schema of one form field (the label as its description)."""
    schema: dict[str, Any]
    if field.kind == "file":
        return file_schema(field)
    if field.kind == "file-list":
        schema = {"type": "array", "description": field.label, "items": file_schema(field)}
        if field.max_length:
            schema["maxItems"] = field.max_length
        return schema
    if field.kind == "number":
        schema = {"type": "number"}
    elif field.kind == "checkbox":
        schema = {"type": "boolean"}
    elif field.kind == "select":
        schema = {"type": "string", "enum": list(field.options)}
    else:
        schema = {"type": "string"}
        if field.max_length:
            schema["maxLength"] = field.max_length
    schema["description"] = field.label
    if field.default not in (None, ""):
        schema["default"] = field.default
    return schema


def form_schema(fields: Sequence[app_form.FormField]) -> dict[str, Any]:
    """The input schema of a workflow or completion tool: the app's form, field by field."""
    return {
        "type": "object",
        "properties": {field.variable: property_schema(field) for field in fields},
        "required": [field.variable for field in fields if field.required],
        "additionalProperties": False,
    }


def chat_schema(fields: Sequence[app_form.FormField]) -> dict[str, Any]:
    """A chat tool's input schema: `query`, `conversation_id`, and the app's own form (a
    chat app may have one) as `inputs`, so that its names cannot collide with those two."""
    if not fields:
        return CHAT_SCHEMA
    inputs = {**form_schema(fields), "description": "The chat app's inputs (its input form)."}
    required = ["query", "inputs"] if inputs["required"] else ["query"]
    return {**CHAT_SCHEMA, "properties": {**CHAT_SCHEMA["properties"], "inputs": inputs}, "required": required}


def definition(tool: Tool, fields: Sequence[app_form.FormField]) -> dict[str, Any]:
    """The tool as `tools/list` gives it."""
    return {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "inputSchema": chat_schema(fields) if tool.kind == "chat" else form_schema(fields),
    }


# --- arguments -> app inputs ---------------------------------------------------------


@dataclass(frozen=True)
class ChatArguments:
    query: str
    conversation_id: str | None
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class FormArguments:
    """A form tool's arguments as app inputs: `inputs` (files given by URL already as
    Dify's remote_url values), `uploads` (base64 files to upload) and, per file
    variable, the order of its files (`("url", value)` or `("upload", index)`)."""

    inputs: dict[str, Any]
    uploads: dict[str, tuple[parsing.FilePart, ...]]
    order: dict[str, tuple[tuple[str, Any], ...]]


def chat_arguments(arguments: Mapping[str, Any], *, has_form: bool) -> ChatArguments:
    """`query`, `conversation_id` and (when the app has a form) `inputs`, checked as /duck checks them."""
    takes = ("query", "conversation_id", "inputs") if has_form else ("query", "conversation_id")
    unknown = sorted(set(arguments) - set(takes))
    if unknown:
        names = ", ".join(f"`{name}`" for name in takes[:-1]) + f" and `{takes[-1]}`"
        raise ToolInputRefused(f"Unknown argument `{unknown[0][:60]}`: this tool takes {names}.")
    try:
        question = parsing.question(arguments)
    except BadRequest as refused:
        raise ToolInputRefused(refused.message) from None
    inputs = arguments.get("inputs", {})
    if not isinstance(inputs, Mapping):
        raise ToolInputRefused("`inputs` must be an object: the chat app's inputs by name.")
    return ChatArguments(query=question.query, conversation_id=question.conversation_id, inputs=inputs)


def form_arguments(
    fields: Sequence[app_form.FormField], form: files.InputForm, arguments: Mapping[str, Any], max_file_bytes: int
) -> FormArguments:
    """Check `arguments` against the app's form (ToolInputRefused, or provider.files'
    FileRejected/FileTooLarge for a file the form does not take) and split them."""
    by_name = {field.variable: field for field in fields}
    unknown = sorted(set(arguments) - set(by_name))
    if unknown:
        takes = ", ".join(f"`{name}`" for name in by_name) or "no arguments"
        raise ToolInputRefused(f"Unknown argument `{unknown[0][:60]}`: this tool takes {takes}.")
    inputs: dict[str, Any] = {}
    uploads: dict[str, tuple[parsing.FilePart, ...]] = {}
    order: dict[str, tuple[tuple[str, Any], ...]] = {}
    for field in fields:
        value = arguments.get(field.variable)
        if value is None:
            if field.required:
                raise ToolInputRefused(f"`{field.variable}` ({field.label}) is required.")
            continue
        if field.is_file:
            parts, sequence = _file_argument(field, form, value)
            if parts:
                uploads[field.variable] = parts
            order[field.variable] = sequence
        else:
            inputs[field.variable] = _scalar(field, value)
    size = len(json.dumps(inputs, ensure_ascii=False).encode("utf-8"))
    if size > MAX_INPUTS_BYTES:
        raise ToolInputRefused(f"The arguments are too large ({size} bytes of text; at most {MAX_INPUTS_BYTES}).")
    files.check(uploads, form, max_file_bytes)
    return FormArguments(inputs=inputs, uploads=uploads, order=order)


def _scalar(field: app_form.FormField, value: Any) -> Any:
    name = f"`{field.variable}`"
    if field.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolInputRefused(f"{name} must be a number.")
        return value
    if field.kind == "checkbox":
        if not isinstance(value, bool):
            raise ToolInputRefused(f"{name} must be true or false.")
        return value
    if not isinstance(value, str):
        raise ToolInputRefused(f"{name} must be a string.")
    if field.kind == "select" and value not in field.options:
        raise ToolInputRefused(f"{name} must be one of: {', '.join(field.options)}.")
    if field.max_length and len(value) > field.max_length:
        raise ToolInputRefused(f"{name} is too long ({len(value)} characters; at most {field.max_length}).")
    if field.required and not value.strip():
        raise ToolInputRefused(f"{name} ({field.label}) is required: it is empty.")
    return value


def _file_argument(
    field: app_form.FormField, form: files.InputForm, value: Any
) -> tuple[tuple[parsing.FilePart, ...], tuple[tuple[str, Any], ...]]:
    if field.kind == "file-list":
        if not isinstance(value, list):
            raise ToolInputRefused(f"`{field.variable}` must be a list of files.")
        if field.max_length and len(value) > field.max_length:
            raise ToolInputRefused(
                f"`{field.variable}` takes at most {field.max_length} files; {len(value)} were sent."
            )
        items = value
    else:
        items = [value]
    rule = form.files.get(field.variable)
    parts: list[parsing.FilePart] = []
    sequence: list[tuple[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ToolInputRefused(f"`{field.variable}`: a file is an object with `url`, or `content` and `filename`.")
        unknown = sorted(set(item) - {"url", "content", "filename", "mime_type"})
        if unknown:
            raise ToolInputRefused(f"`{field.variable}`: unknown file field `{unknown[0][:60]}`.")
        if ("url" in item) == ("content" in item):
            raise ToolInputRefused(f"`{field.variable}`: give a file either as `url` or as `content` (not both).")
        if "url" in item:
            sequence.append(("url", _remote_file(field.variable, item.get("url"), rule)))
        else:
            sequence.append(("upload", len(parts)))
            parts.append(_file_part(field.variable, item))
    return tuple(parts), tuple(sequence)


def _remote_file(variable: str, url: Any, rule: files.FileInput | None) -> dict[str, Any]:
    """Dify's value for a file it downloads itself (`transfer_method: remote_url`)."""
    if not isinstance(url, str) or len(url) > 2048 or urlsplit(url).scheme not in ("http", "https"):
        raise ToolInputRefused(f"`{variable}`: `url` must be an http(s) URL of at most 2048 characters.")
    path = urlsplit(url).path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    guessed, _ = mimetypes.guess_type(path, strict=False)
    file_type = files.dify_file_type(extension, guessed or "")
    if rule is not None and not rule.accepts(file_type, extension):
        raise ToolInputRefused(f"`{variable}` does not take this file: the app accepts {rule.rule()} there.")
    return {"type": file_type, "transfer_method": "remote_url", "url": url}


def _file_part(variable: str, item: Mapping[str, Any]) -> parsing.FilePart:
    content, filename, mimetype = item.get("content"), item.get("filename"), item.get("mime_type", "")
    if not isinstance(filename, str) or not filename.strip():
        raise ToolInputRefused(f"`{variable}`: `filename` (with its extension) must be given with `content`.")
    if not isinstance(mimetype, str):
        raise ToolInputRefused(f"`{variable}`: `mime_type` must be a string.")
    if not isinstance(content, str):
        raise ToolInputRefused(f"`{variable}`: `content` must be the file's bytes as a base64 string.")
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ToolInputRefused(f"`{variable}`: `content` is not valid base64.") from None
    return parsing.FilePart(variable=variable, filename=filename, mimetype=mimetype.strip(), content=data)


def file_inputs(arguments: FormArguments, uploaded: Mapping[str, Any], form: files.InputForm) -> dict[str, Any]:
    """The app inputs of the file variables, in the order sent: URL values as they are,
    uploaded ones from `uploaded` (what `provider.files.upload` returned)."""
    values: dict[str, Any] = {}
    for variable, sequence in arguments.order.items():
        done = uploaded.get(variable)
        done_list = done if isinstance(done, list) else [done]
        resolved = [value if how == "url" else done_list[value] for how, value in sequence]
        is_list = variable in form.files and form.files[variable].kind == "file-list"
        values[variable] = resolved if is_list else resolved[0]
    return values
