"""An app's input form, as Dify describes it (`fetch_app`'s `user_input_form`), typed.

`session.app.fetch_app(app_id)` answers the app's parameters (Dify's `/parameters`),
whose `user_input_form` lists the app's input variables in form order, each as a
one-key mapping `{<type>: {variable, label, required, default, max_length, options,
allowed_file_types, allowed_file_extensions, ...}}`. `parse_form` turns that into
`FormField`s a page can render without guessing, and `fetch_form` is the one place
that calls the SDK for it (whose failures are bare `Exception`s, like app calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from provider.errors import AppFailed
from provider.log import plugin_logger

if TYPE_CHECKING:
    from dify_plugin.core.runtime import Session

logger = plugin_logger(__name__)

FieldKind = Literal["text-input", "paragraph", "select", "number", "checkbox", "file", "file-list"]
KINDS: Final[frozenset[str]] = frozenset(
    {"text-input", "paragraph", "select", "number", "checkbox", "file", "file-list"}
)
FILE_KINDS: Final[frozenset[str]] = frozenset({"file", "file-list"})

#: `accept` of a file picker per Dify file type; `document` is Dify's document
#: extensions (api/constants DOCUMENT_EXTENSIONS), `custom` the app's own extensions.
_ACCEPT_BY_TYPE: Final[dict[str, tuple[str, ...]]] = {
    "image": ("image/*",),
    "audio": ("audio/*",),
    "video": ("video/*",),
    "document": tuple(
        f".{ext}"
        for ext in [
            "txt",
            "markdown",
            "md",
            "mdx",
            "pdf",
            "html",
            "htm",
            "xlsx",
            "xls",
            "vtt",
            "properties",
            "doc",
            "docx",
            "csv",
            "eml",
            "msg",
            "pptx",
            "ppt",
            "xml",
            "epub",
        ]
    ),
}


@dataclass(frozen=True)
class FormField:
    """One input variable. `default` is what Dify gives (None when it gives none);
    `max_length` bounds a text's characters or a file list's files; `accept` is a
    file picker's `accept` attribute ("" for any file)."""

    kind: FieldKind
    variable: str
    label: str
    required: bool = False
    default: str | int | float | bool | None = None
    max_length: int | None = None
    options: tuple[str, ...] = ()
    accept: str = ""

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
        accept=file_accept(spec.get("allowed_file_types"), spec.get("allowed_file_extensions"))
        if kind in FILE_KINDS
        else "",
    )


def file_accept(types: object, extensions: object) -> str:
    """A file picker's `accept` for Dify's allowed file types and (for `custom`)
    extensions; "" (any file) when the app restricts nothing."""
    accepted: list[str] = []
    for kind in types if isinstance(types, list) else []:
        if kind == "custom":
            for ext in extensions if isinstance(extensions, list) else []:
                if isinstance(ext, str) and ext.strip(". "):
                    accepted.append("." + ext.strip().lstrip(".").lower())
        else:
            accepted.extend(_ACCEPT_BY_TYPE.get(str(kind), ()))
    return ",".join(dict.fromkeys(accepted))


def fetch_form(session: Session, app_id: str, setting: str) -> list[FormField]:
    """The input form of the app chosen in `setting`; AppFailed (503, naming the
    setting) when Dify cannot give it. The SDK's error text goes to the plugin log only."""
    try:
        parameters = session.app.fetch_app(app_id)
    except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception (see provider.apps)
        logger.warning("fetch_app failed (%s via %s): %s", app_id, setting, error)
        if str(error).startswith("permission denied"):
            raise AppFailed(
                "The plugin is not allowed to read apps (its manifest lacks the app permission).",
                code="app_permission_denied",
                status=503,
            ) from None
        raise AppFailed(
            f"The app set in `{setting}` was not found in this workspace; choose another app in the endpoint's "
            "settings.",
            code="app_not_found",
            status=503,
        ) from None
    return parse_form(parameters if isinstance(parameters, Mapping) else {})
