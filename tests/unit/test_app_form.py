"""provider.app_form and provider.files read an app's form alike: a page's file picker
offers exactly what the upload check accepts, for every Dify file type, because both
read one table (app_form.FILE_TYPE_EXTENSIONS and Dify's MIME fallback)."""

from __future__ import annotations

import mimetypes

import pytest

from provider import app_form
from provider.files import FileInput, InputForm

# What the gallery's page offered a document input before the table was one: the
# Unstructured ETL's list, which the upload (the default ETL's list) refuses.
NOT_DOCUMENTS = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "ppt": "application/vnd.ms-powerpoint",
    "doc": "application/msword",
    "epub": "application/epub+zip",
    "eml": "message/rfc822",
    "msg": "application/vnd.ms-outlook",
}
#: Every extension Python knows a MIME type for, with that type, plus Dify's own
#: extensions (some, such as .mdx or .properties, have none here) and the Office ones
#: above (not every system's mime.types lists them): what a visitor may pick.
KNOWN: dict[str, str] = {
    **{ext: "application/octet-stream" for exts in app_form.FILE_TYPE_EXTENSIONS.values() for ext in exts},
    **NOT_DOCUMENTS,
    **{ext.lstrip("."): mime for ext, mime in {**mimetypes.types_map, **mimetypes.common_types}.items()},
}


FORMS: list[tuple[list[str], list[str]]] = [([kind], []) for kind in app_form.FILE_TYPE_EXTENSIONS] + [
    (["image", "audio"], []),
    (["document", "video"], []),
    (["custom"], [".DWG", "dxf"]),
    (["document", "custom"], ["zip"]),
    (["image", "custom"], []),
    (["custom"], []),
    ([], []),
]


def picker_offers(accept: str, extension: str, mimetype: str) -> bool:
    """What a browser's file picker shows for `accept` (HTML's rule): a listed `.ext`,
    an exact MIME type or a `type/*` one; an empty `accept` shows every file."""
    if not accept:
        return True
    for token in accept.split(","):
        if token.startswith("."):
            if token[1:] == extension:
                return True
        elif token.endswith("/*"):
            if mimetype.startswith(token[:-1]):
                return True
        elif token == mimetype:
            return True
    return False


def rule_of(types: list[str], extensions: list[str]) -> tuple[str, FileInput]:
    """The picker's `accept` and the upload's rule of one `file` input, read from one form."""
    parameters = {
        "user_input_form": [
            {"file": {"variable": "f", "allowed_file_types": types, "allowed_file_extensions": extensions}}
        ]
    }
    (field,) = app_form.parse_form(parameters)
    return field.accept, InputForm.from_parameters(parameters).files["f"]


def uploads(rule: FileInput, extension: str, mimetype: str) -> bool:
    return rule.accepts(app_form.dify_file_type(extension, mimetype), extension)


def only_a_marker(mimetype: str) -> bool:
    """A MIME type Dify sorts by a word inside it (`_get_file_type_by_mimetype`), not by
    its top-level type: `application/vnd.oasis.opendocument.text` is a document,
    `application/x-pn-realaudio` an audio file. No `accept` pattern can say that."""
    markers = [marker for _, words in app_form.MIME_MARKERS for marker in words]
    standard = mimetype.split("/")[0] in ("image", "video", "audio", "text") or mimetype == "application/pdf"
    return not standard and any(marker in mimetype for marker in markers)


@pytest.mark.parametrize(("types", "extensions"), FORMS)
def test_the_picker_offers_exactly_what_the_upload_accepts(types: list[str], extensions: list[str]) -> None:
    accept, rule = rule_of(types, extensions)
    offered = {ext for ext, mime in KNOWN.items() if picker_offers(accept, ext, mime)}
    uploaded = {ext for ext, mime in KNOWN.items() if uploads(rule, ext, mime)}
    assert offered - uploaded == set()  # never offer a file the upload then refuses
    missing = {ext for ext in uploaded - offered if not only_a_marker(KNOWN[ext])}
    assert missing == set()  # and never hide one it takes, but where `accept` cannot say it


def test_every_extension_of_difys_table_is_offered_and_uploaded_under_its_type() -> None:
    for kind, table in app_form.FILE_TYPE_EXTENSIONS.items():
        accept, rule = rule_of([kind], [])
        for ext in table:
            assert picker_offers(accept, ext, "application/octet-stream"), (kind, ext)
            assert uploads(rule, ext, "application/octet-stream"), (kind, ext)


@pytest.mark.parametrize("extension", NOT_DOCUMENTS)
def test_a_document_picker_does_not_offer_what_the_upload_refuses(extension: str) -> None:
    accept, rule = rule_of(["document"], [])
    mimetype = KNOWN[extension]
    assert not uploads(rule, extension, mimetype)
    assert not picker_offers(accept, extension, mimetype)


def test_the_extensions_are_read_once_lower_case_without_dots() -> None:
    assert app_form.file_extensions([".CSV", "tsv", "", ". ", 3, "csv"]) == ("csv", "tsv")
    assert app_form.file_extensions("csv") == ()
    assert app_form.file_types(["image", 1, "image", "custom"]) == ("image", "custom")
    assert app_form.file_types(None) == ()
