"""An app's input form, as Dify describes it (`fetch_app`'s `user_input_form`), typed.

`session.app.fetch_app(app_id)` answers the app's parameters (Dify's `/parameters`),
whose `user_input_form` lists the app's input variables in form order, each as a
one-key mapping `{<type>: {variable, label, required, default, max_length, options,
allowed_file_types, allowed_file_extensions, ...}}`. `parse_form` turns that into
`FormField`s a page can render without guessing (and the upload check, `files`,
reads it the same way); `fetch_form` asks Dify for it through `apps.AppCall`, whose
one translation of the SDK's errors it shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from provider.apps import AppCall

if TYPE_CHECKING:
    from dify_plugin.core.runtime import Session

FieldKind = Literal["text-input", "paragraph", "select", "number", "checkbox", "file", "file-list"]
KINDS: Final[frozenset[str]] = frozenset(
    {"text-input", "paragraph", "select", "number", "checkbox", "file", "file-list"}
)
FILE_KINDS: Final[frozenset[str]] = frozenset({"file", "file-list"})

#: Dify's file types and the extensions it sorts into each (api/constants/__init__.py:
#: IMAGE/VIDEO/AUDIO_EXTENSIONS, and DOCUMENT_EXTENSIONS of the default ETL, the one
#: Dify runs unless ETL_TYPE=Unstructured). Dify's `standardize_file_type` looks a
#: file's extension up here first; only an extension not listed falls back to the MIME
#: type (`MIME_MARKERS`). The upload check (provider.files) and a page's file picker
#: (`file_accept`) both read this one table, so they agree.
FILE_TYPE_EXTENSIONS: Final[dict[str, tuple[str, ...]]] = {
    "image": ("jpg", "jpeg", "png", "webp", "gif", "svg"),
    "video": ("mp4", "mov", "mpeg", "webm"),
    "audio": ("mp3", "m4a", "wav", "amr", "mpga"),
    "document": (
        "txt",
        "markdown",
        "md",
        "mdx",
        "pdf",
        "html",
        "htm",
        "xlsx",
        "xls",
        "docx",
        "csv",
        "vtt",
        "properties",
    ),
}
#: Dify's MIME fallback (`_get_file_type_by_mimetype`), in its order: the first type
#: whose marker is part of the MIME type wins; no marker found means `custom`.
MIME_MARKERS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("image", ("image",)),
    ("video", ("video",)),
    ("audio", ("audio",)),
    ("document", ("text", "pdf")),
)
#: What a file picker's `accept` can say of that fallback: MIME patterns per type.
#: (A MIME type that merely contains "text", such as OpenDocument's
#: `application/vnd.oasis.opendocument.text`, has no pattern: the picker then offers
#: less than the upload takes, never more.)
_MIME_PATTERNS: Final[dict[str, tuple[str, ...]]] = {
    "image": ("image/*",),
    "video": ("video/*",),
    "audio": ("audio/*",),
    "document": ("text/*", "application/pdf"),
}


def dify_file_type(extension: str, mimetype: str) -> str:
    """The file type Dify detects for a file (`standardize_file_type`): by its extension
    in FILE_TYPE_EXTENSIONS, else by its MIME type (MIME_MARKERS), else `custom`."""
    extension = extension.lower().lstrip(".")
    for kind, extensions in FILE_TYPE_EXTENSIONS.items():
        if extension in extensions:
            return kind
    for kind, markers in MIME_MARKERS:
        if any(marker in mimetype for marker in markers):
            return kind
    return "custom"


def file_types(value: object) -> tuple[str, ...]:
    """`allowed_file_types` of a form item: its strings, in order, once each."""
    return tuple(dict.fromkeys(t for t in value if isinstance(t, str))) if isinstance(value, list | tuple) else ()


def file_extensions(value: object) -> tuple[str, ...]:
    """`allowed_file_extensions` of a form item, lower case without their dot (Dify's
    form keeps them as typed: ".CSV", "tsv"); blank ones dropped."""
    if not isinstance(value, list | tuple):
        return ()
    kept = (e.strip().lstrip(".").lower() for e in value if isinstance(e, str))
    return tuple(dict.fromkeys(e for e in kept if e.strip(". ")))


@dataclass(frozen=True)
class FormField:
    """One input variable. `default` is what Dify gives (None when it gives none);
    `max_length` bounds a text's characters or a file list's files; a file input's
    `file_types` and `file_extensions` are what the app allows (empty: anything), and
    `accept` is a file picker's `accept` attribute for them ("" for any file)."""

    kind: FieldKind
    variable: str
    label: str
    required: bool = False
    default: str | int | float | bool | None = None
    max_length: int | None = None
    options: tuple[str, ...] = ()
    accept: str = ""
    file_types: tuple[str, ...] = ()
    file_extensions: tuple[str, ...] = ()

    @property
    def is_file(self) -> bool:
        return self.kind in FILE_KINDS


def parse_form(parameters: Mapping[str, Any]) -> list[FormField]:
    """The `user_input_form` of app parameters as FormFields, in form order. An entry
    without a usable variable name is skipped; a type this page does not know (a newer
    Dify's) becomes a text input, so the app can still be tried."""
    fields: list[FormField] = []
    items = parameters.get("user_input_form")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or len(item) != 1:
            continue
        ((kind, spec),) = item.items()
        if not isinstance(spec, Mapping) or not isinstance(spec.get("variable"), str) or not spec["variable"]:
            continue
        fields.append(_field(str(kind), spec))
    return fields


def _field(kind: str, spec: Mapping[str, Any]) -> FormField:
    variable = spec["variable"]
    label = spec.get("label")
    max_length = spec.get("max_length")
    options = spec.get("options") if kind == "select" else None
    default = spec.get("default")
    types = file_types(spec.get("allowed_file_types")) if kind in FILE_KINDS else ()
    extensions = file_extensions(spec.get("allowed_file_extensions")) if kind in FILE_KINDS else ()
    return FormField(
        kind=kind if kind in KINDS else "text-input",  # type: ignore[arg-type]  # checked against KINDS
        variable=variable,
        label=label if isinstance(label, str) and label else variable,
        required=spec.get("required") is True,
        default=default if isinstance(default, str | int | float | bool) else None,
        max_length=max_length
        if isinstance(max_length, int) and not isinstance(max_length, bool) and max_length > 0
        else None,
        options=tuple(str(o) for o in options) if isinstance(options, list) else (),
        accept=file_accept(types, extensions),
        file_types=types,
        file_extensions=extensions,
    )


def file_accept(types: object, extensions: object) -> str:
    """A file picker's `accept` for Dify's allowed file types and (for `custom`)
    extensions: each type's extensions in FILE_TYPE_EXTENSIONS and the MIME patterns of
    Dify's fallback for it; "" (any file) when the app restricts nothing, or allows
    `custom` without listing extensions (the upload then takes any file too)."""
    allowed, listed = file_types(types), file_extensions(extensions)
    if "custom" in allowed and not listed:
        return ""
    accepted: list[str] = []
    for kind in allowed:
        if kind == "custom":
            accepted.extend(f".{ext}" for ext in listed)
        else:
            accepted.extend(f".{ext}" for ext in FILE_TYPE_EXTENSIONS.get(kind, ()))
            accepted.extend(_MIME_PATTERNS.get(kind, ()))
    return ",".join(dict.fromkeys(accepted))


def fetch_form(session: Session, app_id: str, setting: str) -> list[FormField]:
    """The input form of the app chosen in `setting`; AppFailed when Dify cannot give it,
    translated where every SDK error is (`apps.AppCall.parameters`; the SDK's text goes
    to the plugin log only). Reading the form does not depend on the app's kind."""
    parameters = AppCall(session, kind="workflow", setting=setting, app_id=app_id).parameters()
    return parse_form(parameters if isinstance(parameters, Mapping) else {})
