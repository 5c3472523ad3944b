"""File inputs of `/workflow` and `/completion`: checked against the app's own input
form, then uploaded to Dify and handed to the app.

Dify checks nothing of a tool file against the app's form: `is_file_valid_with_config`
lets every `tool_file` through (api/factories/file_factory/validation.py). The form's
allowed types, extensions and file counts therefore hold only if the plugin enforces
them, and it does so before uploading anything, so that a refused request leaves no
file behind in Dify and never runs the app.

Each accepted file goes up with `session.file.upload` (a signed URL from Dify, then a
multipart POST to it) and reaches the app as `UploadFileResponse.to_app_parameter()`
(`{"tool_file_id", "transfer_method": "tool_file", "type"}`), with one correction: the
SDK derives `type` from the MIME type alone ("document" for anything that is not an
image, audio or video), while Dify, which checks plugin calls strictly
(`strict_type_validation` for InvokeFrom.SERVICE_API), refuses a file whose declared
type differs from the one it detects itself ("Detected file type does not match the
specified type"). A zip or JSON file would be refused that way; `type` is set to what
Dify detects (`dify_file_type`), which for PDFs, images, text, audio and video is what
the SDK says anyway.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from provider.app_form import FormField, dify_file_type, parse_form
from provider.errors import FileRejected, FileTooLarge, FileUploadFailed
from provider.limits import MAX_NAME_CHARS, MIB
from provider.log import plugin_logger
from provider.parsing import FilePart

if TYPE_CHECKING:
    from provider.apps import AppCall

logger = plugin_logger(__name__)

_GENERIC_MIMETYPES = ("", "application/octet-stream")
_UNSAFE_NAME_CHARS = re.compile(r'["\\/\x00-\x1f\x7f]')


def human_size(size: int) -> str:
    """`5 MiB`, `1.5 MiB`, `512 KiB`, `10 bytes`: how sizes read in messages."""
    if size >= MIB:
        return f"{size / MIB:.1f}".removesuffix(".0") + " MiB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KiB"
    return f"{size} bytes"


@dataclass(frozen=True)
class FileInput:
    """A `file` or `file-list` variable of the app's input form and its rules.

    `types` and `extensions` are empty when the form sets none (any file is fine);
    extensions are kept lower case without their dot. `max_files` is None for no limit.
    """

    variable: str
    kind: str
    types: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()
    max_files: int | None = 1

    @classmethod
    def from_field(cls, field: FormField) -> FileInput:
        """The rules of a `file` or `file-list` field of the form (`app_form.parse_form`)."""
        return cls(
            variable=field.variable,
            kind=field.kind,
            types=frozenset(field.file_types),
            extensions=frozenset(field.file_extensions),
            max_files=1 if field.kind == "file" else field.max_length,
        )

    def accepts(self, file_type: str, extension: str) -> bool:
        """Dify's rule for a user's file: one of the allowed types, or (when `custom` is
        allowed) one of the listed extensions, any if none is listed."""
        if not self.types or (file_type in self.types and file_type != "custom"):
            return True
        return "custom" in self.types and (not self.extensions or extension in self.extensions)

    def rule(self) -> str:
        """The accepted files, as a message says it."""
        standard = sorted(self.types - {"custom"})
        said = [" or ".join(standard) + " files"] if standard else []
        if "custom" in self.types:
            listed = ", ".join(f".{e}" for e in sorted(self.extensions))
            said.append(f"files ending in {listed}" if listed else "files of any other type")
        return " or ".join(said)


@dataclass(frozen=True)
class InputForm:
    """The app's input form as `fetch_app` tells it: each variable's type, and the file ones' rules."""

    kinds: Mapping[str, str]
    files: Mapping[str, FileInput]

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> InputForm:
        """The form as `app_form.parse_form` reads it (the one reader of `user_input_form`)."""
        fields = parse_form(parameters if isinstance(parameters, Mapping) else {})
        return cls(
            kinds={field.variable: field.kind for field in fields},
            files={field.variable: FileInput.from_field(field) for field in fields if field.is_file},
        )


def safe_name(filename: str, mimetype: str) -> str:
    """The client's file name as Dify should store it: no folders, no quotes, backslashes
    or control characters (urllib3 escapes some of them in the upload, and Dify's
    signature over the name would then not match), at most MAX_NAME_CHARS characters."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE_NAME_CHARS.sub("", name).strip().lstrip(".")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        keep = extension[:16] if dot else ""
        name = (stem if dot else name)[: MAX_NAME_CHARS - len(keep) - 1] + (f".{keep}" if keep else "")
    return name or "file" + (mimetypes.guess_extension(mimetype) or "")


def upload_mimetype(part: FilePart) -> str:
    """The part's MIME type, or the one its name suggests when the client sent none or a
    generic one (curl and browsers send application/octet-stream for names they do not know)."""
    if part.mimetype not in _GENERIC_MIMETYPES:
        return part.mimetype
    guessed, _ = mimetypes.guess_type(part.filename, strict=False)
    return guessed or "application/octet-stream"


def _extension(filename: str) -> str:
    _, dot, extension = filename.rpartition(".")
    return extension.lower() if dot else ""


def check(parts: Mapping[str, Sequence[FilePart]], form: InputForm, max_bytes: int) -> None:
    """Refuse (FileRejected, FileTooLarge) what the app's form or the size limit does not
    accept. Runs over every file before any is uploaded."""
    for variable, files in parts.items():
        rule = form.files.get(variable)
        if rule is None:
            raise FileRejected(_not_a_file_input(variable, form), code="not_a_file_input")
        if rule.max_files is not None and len(files) > rule.max_files:
            takes = "one file" if rule.kind == "file" else f"at most {rule.max_files} files"
            raise FileRejected(f"`{variable}` takes {takes}; {len(files)} were sent.", code="too_many_files")
        for part in files:
            _check_file(rule, part, max_bytes)


def _check_file(rule: FileInput, part: FilePart, max_bytes: int) -> None:
    variable, name = rule.variable, part.filename or "the file"
    if not part.content:
        raise FileRejected(f"`{variable}`: {name} is empty (0 bytes).", code="empty_file")
    if len(part.content) > max_bytes:
        raise FileTooLarge(
            f"`{variable}`: {name} is {human_size(len(part.content))}; files may be at most "
            f"{human_size(max_bytes)} (the endpoint's `max_file_mb` setting)."
        )
    extension = _extension(part.filename)
    file_type = dify_file_type(extension, upload_mimetype(part))
    if not rule.accepts(file_type, extension):
        raise FileRejected(
            f"`{variable}` does not take {name} ({_a_file_of(file_type)}): the app accepts {rule.rule()} there.",
            code="file_type_not_allowed",
        )


def _a_file_of(file_type: str) -> str:
    if file_type == "custom":
        return "a file of no standard type"
    return f"{'an' if file_type[0] in 'aeiou' else 'a'} {file_type} file"


def _not_a_file_input(variable: str, form: InputForm) -> str:
    kind = form.kinds.get(variable)
    what = f"is a {kind} input of this app, not a file input" if kind else "is not an input of this app"
    file_inputs = ", ".join(f"`{name}`" for name in form.files)
    others = f"its file inputs are {file_inputs}" if file_inputs else "it has no file inputs"
    return f"`{variable}` {what}; {others}."


def upload(call: AppCall, parts: Mapping[str, Sequence[FilePart]], form: InputForm) -> dict[str, Any]:
    """Upload every file (in the order sent) and return the app inputs that refer to them:
    one file value for a `file` variable, a list for a `file-list` one."""
    values: dict[str, Any] = {}
    for variable, files in parts.items():
        uploaded = [_upload_one(call, part) for part in files]
        values[variable] = uploaded if form.files[variable].kind == "file-list" else uploaded[0]
    return values


def _upload_one(call: AppCall, part: FilePart) -> dict[str, Any]:
    mimetype = upload_mimetype(part)
    name = safe_name(part.filename, mimetype)
    try:
        response = call.session.file.upload(filename=name, content=part.content, mimetype=mimetype)
        value: dict[str, Any] = response.to_app_parameter()
        value["type"] = dify_file_type(response.extension, response.mime_type)
    except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception (and requests' errors)
        # the detail (Dify's answer, the signed URL's host) is for the plugin log only
        logger.warning("file upload failed (%s for `%s` of app %s): %s", name, part.variable, call.app_id, error)
        raise FileUploadFailed(
            f"`{part.variable}`: {name} could not be uploaded to Dify, so the app was not run. Try again; "
            "if it keeps failing, the workspace owner finds the reason in the plugin's log."
        ) from None
    return value


def attach(call: AppCall, parts: Mapping[str, Sequence[FilePart]], max_bytes: int) -> AppCall:
    """`call` with the request's files as inputs: the app's form is read, every file
    checked against it, then each uploaded. Nothing is uploaded for a refused request."""
    form = InputForm.from_parameters(call.parameters())
    check(parts, form, max_bytes)
    return replace(call, inputs={**call.inputs, **upload(call, parts, form)})
