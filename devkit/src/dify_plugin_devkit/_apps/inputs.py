"""An app's input form: the values a call's `inputs` give its variables, checked as Dify does.

Follows `BaseAppGenerator._prepare_user_inputs` / `_validate_inputs`
(api/core/app/apps/base_app_generator.py) and the file factory
(api/factories/file_factory/builders.py): every declared variable is checked in form
order, then file values are resolved; undeclared inputs are dropped. Dify raises a
ValueError for each problem (400 `invalid_param` with the text as message), so the
texts here are Dify's.

File values are what the SDK's `UploadFileResponse.to_app_parameter()` gives:
`{"tool_file_id", "transfer_method": "tool_file", "type"}`. The devkit resolves them
through a `FileLookup` (the devkit's file store); other transfer methods need a real Dify.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import AppCallError
from .spec import FILE_VARIABLE_TYPES, VariableSpec


class StoredFileInfo(Protocol):
    """What the devkit's file store knows about an uploaded file."""

    @property
    def name(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def extension(self) -> str: ...


#: Finds an uploaded file by its tool file id (None when there is no such file).
FileLookup = Callable[[str], "StoredFileInfo | None"]

#: Dify's FileTransferMethod values.
_TRANSFER_METHODS = ("remote_url", "local_file", "tool_file", "datasource_file")
_FILE_TYPES = ("image", "document", "audio", "video", "custom")
#: Extensions Dify's standardize_file_type counts as documents (a subset of its list).
_DOCUMENT_EXTENSIONS = frozenset(
    {"txt", "markdown", "md", "mdx", "pdf", "html", "htm", "xlsx", "xls", "vtt", "properties", "doc", "docx"}
    | {"csv", "eml", "msg", "pptx", "xml", "epub", "ppt"}
)


#: App modes whose generator passes `strict_type_validation=True` for InvokeFrom.SERVICE_API
#: (how Dify runs a plugin's app call): a file's declared `type` must be the detected one.
_STRICT_TYPE_MODES = frozenset({"workflow", "advanced-chat"})
TYPE_MISMATCH = "Detected file type does not match the specified type. Please verify the file."


@dataclass(frozen=True)
class InputFile:
    """A resolved file input, as Dify's File carries it."""

    tool_file_id: str
    type: str
    filename: str
    extension: str
    mime_type: str
    size: int
    #: the workspace and a URL that reads the file, when the lookup knows them
    tenant_id: str | None = None
    url: str | None = None

    def summary(self) -> str:
        """How a file reads in an answer: `name (type, N bytes)`."""
        return f"{self.filename} ({self.type}, {self.size} bytes)"

    def to_mapping(self) -> dict[str, Any]:
        """The file as Dify's events show it (File.to_dict: workflow inputs, node inputs/outputs;
        recorded: inner_wf_file_tool_file), `tenant_id` and `url` when the lookup knows them."""
        mapping: dict[str, Any] = {"dify_model_identity": "__dify__file__", "id": None}
        if self.tenant_id is not None:
            mapping["tenant_id"] = self.tenant_id
        return (
            mapping
            | {
                "type": self.type,
                "transfer_method": "tool_file",
                "remote_url": None,
                "related_id": self.tool_file_id,
                "filename": self.filename,
                "extension": self.extension,
                "mime_type": self.mime_type,
                "size": self.size,
            }
            | ({"url": self.url} if self.url is not None else {})
        )


def render_value(value: Any) -> str:
    """A value as a `{{placeholder}}` shows it: files as `name (type, N bytes)`, lists joined."""
    if value is None:
        return ""
    if isinstance(value, InputFile):
        return value.summary()
    if isinstance(value, list):
        return ", ".join(render_value(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_event_value(value: Any) -> Any:
    """A value as Dify's events carry it (files as their mappings)."""
    if isinstance(value, InputFile):
        return value.to_mapping()
    if isinstance(value, list):
        return [to_event_value(item) for item in value]
    return value


class FormApp(Protocol):
    """What the input checks need of an app: its mode and its form's variables."""

    @property
    def mode(self) -> str: ...
    @property
    def variables(self) -> list[VariableSpec]: ...


def validate_inputs(spec: FormApp, raw: Mapping[str, Any], file_lookup: FileLookup | None) -> dict[str, Any]:
    """The declared variables' values, checked and converted as Dify's generators do."""
    values = {variable.name: _validate(variable, raw.get(variable.name)) for variable in spec.variables}
    values = {name: value.replace("\x00", "") if isinstance(value, str) else value for name, value in values.items()}
    by_name = {variable.name: variable for variable in spec.variables}
    # plugin calls are InvokeFrom.SERVICE_API: workflow generators then check file types strictly
    strict = spec.mode in _STRICT_TYPE_MODES
    for name, value in list(values.items()):
        kind = by_name[name].dify_type
        if kind == "file" and isinstance(value, dict):
            values[name] = _resolve(value, file_lookup, strict=strict)
        elif kind == "file-list" and isinstance(value, list) and all(isinstance(item, dict) for item in value):
            values[name] = [_resolve(item, file_lookup, strict=strict) for item in value if _is_valid_mapping(item)]
    if any(isinstance(value, dict) for value in values.values()):
        raise AppCallError.invalid_param("Invalid input type")
    return values


def _validate(variable: VariableSpec, value: Any) -> Any:
    """One variable, as `_validate_inputs` checks it (the messages are Dify's)."""
    name, kind = variable.name, variable.dify_type
    if value is None:
        if variable.required:
            raise AppCallError.invalid_param(f"{name} is required in input form")
        value = variable.default
        if value is None:
            return None
    if kind in FILE_VARIABLE_TYPES and not variable.required and not value and isinstance(value, str | list):
        return None
    if kind in ("text-input", "select", "paragraph") and not isinstance(value, str):
        raise AppCallError.invalid_param(f"(type '{kind}') {name} in input form must be a string")
    if kind == "number":
        return _number(name, value)
    if kind == "select" and value not in variable.options:
        raise AppCallError.invalid_param(f"{name} in input form must be one of the following: {variable.options}")
    if kind in ("text-input", "paragraph") and variable.max_length and len(value) > variable.max_length:
        raise AppCallError.invalid_param(f"{name} in input form must be less than {variable.max_length} characters")
    if kind == "file" and not isinstance(value, dict):
        raise AppCallError.invalid_param(f"{name} in input form must be a file")
    if kind == "file-list":
        if not (isinstance(value, list) and all(isinstance(item, dict) for item in value)):
            raise AppCallError.invalid_param(f"{name} in input form must be a list of files")
        if variable.max_length and len(value) > variable.max_length:
            raise AppCallError.invalid_param(f"{name} in input form must be less than {variable.max_length} files")
    if kind == "checkbox":
        return _checkbox(value)
    return value


def _number(name: str, value: Any) -> Any:
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            raise AppCallError.invalid_param(f"{name} in input form must be a valid number") from None
    # Dify raises a TypeError here, which its API answers as an unexpected error (500)
    raise AppCallError.server_error(f"expected value type int, float or str, got {type(value)}, value: {value}")


def _checkbox(value: Any) -> Any:
    if isinstance(value, str):
        normalized = value.strip().lower()
        if normalized in {"true", "1", "yes", "on"}:
            return True
        if normalized in {"false", "0", "no", "off"}:
            return False
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if value == 1:
            return True
        if value == 0:
            return False
    return value


def _is_valid_mapping(mapping: Mapping[str, Any]) -> bool:
    """A file list silently drops mappings Dify cannot even try to build (file factory)."""
    if not mapping or not mapping.get("transfer_method"):
        return False
    return not (
        mapping.get("transfer_method") == "remote_url" and not (mapping.get("url") or mapping.get("remote_url"))
    )


def _resolve(mapping: Mapping[str, Any], file_lookup: FileLookup | None, *, strict: bool = False) -> InputFile:
    """One file mapping as the file factory builds it; only tool files can be resolved here.
    `strict`: a declared `type` other than the detected one is refused (_resolve_file_type)."""
    method = mapping.get("transfer_method")
    if not method:
        raise AppCallError.invalid_param("transfer_method is required in file mapping")
    if method not in _TRANSFER_METHODS:
        raise AppCallError.invalid_param(f"No matching enum found for value '{method}'")
    if method != "tool_file":
        raise AppCallError.invalid_param(
            f"devkit: cannot resolve a {method} file: the devkit only knows files uploaded with "
            "session.file.upload (pass UploadFileResponse.to_app_parameter(), transfer_method tool_file)"
        )
    tool_file_id = mapping.get("tool_file_id")
    if not isinstance(tool_file_id, str) or not tool_file_id:
        raise AppCallError.invalid_param(f"ToolFile {tool_file_id} not found")
    if file_lookup is None:
        raise AppCallError.invalid_param(
            f"devkit: cannot resolve ToolFile {tool_file_id}: this devkit run has no file storage "
            "to look uploaded files up in"
        )
    stored = file_lookup(tool_file_id)
    if stored is None:
        raise AppCallError.invalid_param(f"ToolFile {tool_file_id} not found")
    extension = stored.extension if stored.extension.startswith(".") else f".{stored.extension}"
    specified = mapping.get("type")
    if strict and specified and specified != _file_type(None, extension, stored.mime_type):
        raise AppCallError.invalid_param(TYPE_MISMATCH)
    return InputFile(
        tool_file_id=tool_file_id,
        type=_file_type(mapping.get("type"), extension, stored.mime_type),
        filename=stored.name,
        extension=extension,
        mime_type=stored.mime_type,
        size=stored.size,
        tenant_id=getattr(stored, "tenant_id", None),
        url=getattr(stored, "url", None),
    )


def _file_type(specified: Any, extension: str, mime_type: str) -> str:
    """The type the mapping names (unless `custom`), else the one the file looks like."""
    if specified and specified != "custom":
        if specified not in _FILE_TYPES:
            raise AppCallError.invalid_param(f"'{specified}' is not a valid FileType")
        return str(specified)
    for kind in ("image", "video", "audio"):
        if mime_type.startswith(f"{kind}/"):
            return kind
    if extension.lstrip(".").lower() in _DOCUMENT_EXTENSIONS or "text" in mime_type or "pdf" in mime_type:
        return "document"
    return "custom"
