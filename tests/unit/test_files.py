"""provider.files: the app's form rules, checked before any upload; uploads and the values the app gets."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from provider import files
from provider.apps import AppCall
from provider.errors import AppFailed, FileRejected, FileTooLarge, FileUploadFailed
from provider.files import FileInput, InputForm
from provider.parsing import FilePart
from tests.unit.fakes import FakeFetchApp, FakeFileUpload, fake_session

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)

#: A workflow's parameters as `fetch_app` answers them (Dify's `/parameters`).
PARAMETERS: dict[str, Any] = {
    "opening_statement": "",
    "user_input_form": [
        {"text-input": {"variable": "topic", "label": "Topic", "type": "text-input", "required": False}},
        {
            "file": {
                "variable": "document",
                "type": "file",
                "required": True,
                "allowed_file_types": ["document"],
                "allowed_file_extensions": [],
                "allowed_file_upload_methods": ["local_file"],
            }
        },
        {"file-list": {"variable": "images", "type": "file-list", "max_length": 2, "allowed_file_types": ["image"]}},
        {"file": {"variable": "drawing", "allowed_file_types": ["custom"], "allowed_file_extensions": [".DWG", "dxf"]}},
        {"file-list": {"variable": "anything", "max_length": None, "allowed_file_types": []}},
    ],
}


def form() -> InputForm:
    """PARAMETERS read now, in the test (a module constant would be read once, at import)."""
    return InputForm.from_parameters(PARAMETERS)


LIMIT = 1024


def part(variable: str, filename: str, content: bytes = PDF, mimetype: str = "application/pdf") -> FilePart:
    return FilePart(variable, filename, mimetype, content)


def parts(*given: FilePart) -> dict[str, tuple[FilePart, ...]]:
    found: dict[str, tuple[FilePart, ...]] = {}
    for p in given:
        found[p.variable] = (*found.get(p.variable, ()), p)
    return found


def test_the_form_gives_each_file_variable_its_rules() -> None:
    read = form()
    assert read.kinds == {
        "topic": "text-input",
        "document": "file",
        "images": "file-list",
        "drawing": "file",
        "anything": "file-list",
    }
    assert read.files["document"] == FileInput("document", "file", frozenset({"document"}), frozenset(), 1)
    assert read.files["images"].max_files == 2
    assert read.files["anything"].max_files is None  # no max_length: no limit
    assert read.files["drawing"].extensions == {"dwg", "dxf"}  # lower case, no dot


def test_a_form_without_items_or_with_odd_ones_has_no_file_inputs() -> None:
    assert InputForm.from_parameters({}).files == {}
    odd = {"user_input_form": ["x", {"file": "y"}, {"a": {}, "b": {}}, {"file": {"variable": 3}}]}
    assert InputForm.from_parameters(odd) == InputForm(kinds={}, files={})


@pytest.mark.parametrize(
    ("extension", "mimetype", "kind"),
    [
        ("pdf", "application/pdf", "document"),
        (".PNG", "image/png", "image"),
        ("md", "text/markdown", "document"),
        ("bmp", "image/bmp", "image"),  # not in Dify's image list: its MIME type decides
        ("zip", "application/zip", "custom"),
        ("json", "application/json", "custom"),
        ("bin", "application/octet-stream", "custom"),
        ("webm", "video/webm", "video"),
    ],
)
def test_file_types_are_the_ones_dify_detects(extension: str, mimetype: str, kind: str) -> None:
    assert files.dify_file_type(extension, mimetype) == kind


def test_files_the_form_accepts_pass() -> None:
    files.check(
        parts(
            part("document", "report.pdf"),
            part("images", "a.png", PNG, "image/png"),
            part("images", "b.jpg", PNG, "image/jpeg"),
            part("drawing", "plan.DWG", b"dwg", "application/octet-stream"),
            part("anything", "data.zip", b"PK", "application/zip"),
        ),
        form(),
        LIMIT,
    )


@pytest.mark.parametrize(
    ("sent", "code", "message"),
    [
        (
            [part("topic", "a.pdf")],
            "not_a_file_input",
            "`topic` is a text-input input of this app, not a file input; its file inputs are `document`, "
            "`images`, `drawing`, `anything`.",
        ),
        (
            [part("summary", "a.pdf")],
            "not_a_file_input",
            "`summary` is not an input of this app; its file inputs are `document`, `images`, `drawing`, `anything`.",
        ),
        (
            [part("document", "a.pdf"), part("document", "b.pdf")],
            "too_many_files",
            "`document` takes one file; 2 were sent.",
        ),
        (
            [part("images", f"{n}.png", PNG, "image/png") for n in range(3)],
            "too_many_files",
            "`images` takes at most 2 files; 3 were sent.",
        ),
        ([part("document", "empty.pdf", b"")], "empty_file", "`document`: empty.pdf is empty (0 bytes)."),
        (
            [part("document", "photo.png", PNG, "image/png")],
            "file_type_not_allowed",
            "`document` does not take photo.png (an image file): the app accepts document files there.",
        ),
        (
            [part("images", "scan.pdf")],
            "file_type_not_allowed",
            "`images` does not take scan.pdf (a document file): the app accepts image files there.",
        ),
        (
            [part("drawing", "plan.pdf")],
            "file_type_not_allowed",
            "`drawing` does not take plan.pdf (a document file): the app accepts files ending in .dwg, .dxf there.",
        ),
    ],
)
def test_each_rule_of_the_form_refuses_with_its_code_naming_the_variable(
    sent: list[FilePart], code: str, message: str
) -> None:
    with pytest.raises(FileRejected) as refused:
        files.check(parts(*sent), form(), LIMIT)
    assert (refused.value.status, refused.value.code, refused.value.message) == (400, code, message)


def test_a_file_over_the_limit_is_413_naming_the_limit() -> None:
    with pytest.raises(FileTooLarge) as refused:
        files.check(parts(part("document", "big.pdf", b"x" * (3 * 1024 * 1024))), form(), 2 * 1024 * 1024)
    assert refused.value.status == 413
    assert refused.value.code == "file_too_large"
    assert refused.value.message == (
        "`document`: big.pdf is 3 MiB; files may be at most 2 MiB (the endpoint's `max_file_mb` setting)."
    )
    files.check(parts(part("document", "fits.pdf", b"x" * LIMIT)), form(), LIMIT)  # exactly the limit is fine


@pytest.mark.parametrize(
    ("size", "said"), [(10, "10 bytes"), (1536, "1.5 KiB"), (5 * 1024 * 1024, "5 MiB"), (1024 * 1024 + 1, "1 MiB")]
)
def test_sizes_read_as_people_write_them(size: int, said: str) -> None:
    assert files.human_size(size) == said


@pytest.mark.parametrize(
    ("filename", "mimetype", "stored"),
    [
        ("report.pdf", "application/pdf", "report.pdf"),
        ("C:\\Users\\ada\\report.pdf", "application/pdf", "report.pdf"),
        ("../../etc/passwd", "text/plain", "passwd"),
        ('say "hi"\r\n.txt', "text/plain", "say hi.txt"),
        ("résumé 2024.pdf", "application/pdf", "résumé 2024.pdf"),
        ("", "application/pdf", "file.pdf"),
        (".hidden", "text/plain", "hidden"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_made_safe_to_store(filename: str, mimetype: str, stored: str) -> None:
    assert files.safe_name(filename, mimetype) == stored


def test_a_generic_mime_type_is_guessed_from_the_name() -> None:
    assert files.upload_mimetype(part("d", "notes.md", b"#", "application/octet-stream")) == "text/markdown"
    assert files.upload_mimetype(part("d", "scan.pdf", b"%", "")) == "application/pdf"
    assert files.upload_mimetype(part("d", "x.unknownext", b"%", "")) == "application/octet-stream"
    assert files.upload_mimetype(part("d", "photo.jpg", PNG, "image/png")) == "image/png"  # as sent


def call_with(uploads: FakeFileUpload, fetch: FakeFetchApp | None = None) -> AppCall:
    session = fake_session(files=uploads, fetch_app=fetch or FakeFetchApp(PARAMETERS))
    return AppCall(session, kind="workflow", setting="workflow_app", app_id="wf-app", inputs={"topic": "ducks"})


def test_attach_uploads_each_file_and_gives_the_app_tool_file_references() -> None:
    uploads = FakeFileUpload()
    fetch = FakeFetchApp(PARAMETERS)
    sent = parts(
        part("document", "report.pdf"),
        part("images", "a.png", PNG, "image/png"),
        part("images", "b.png", PNG + b"2", "image/png"),
        part("anything", "data.zip", b"PK", "application/zip"),
    )
    call = files.attach(call_with(uploads, fetch), sent, LIMIT)
    assert fetch.calls == ["wf-app"]
    assert [(name, mimetype) for name, _, mimetype in uploads.uploads] == [
        ("report.pdf", "application/pdf"),
        ("a.png", "image/png"),
        ("b.png", "image/png"),
        ("data.zip", "application/zip"),
    ]
    assert uploads.uploads[0][1] == PDF
    assert call.inputs["topic"] == "ducks"
    document, images, anything = call.inputs["document"], call.inputs["images"], call.inputs["anything"]
    assert set(document) == {"tool_file_id", "transfer_method", "type"}
    assert (document["transfer_method"], document["type"]) == ("tool_file", "document")
    assert [image["type"] for image in images] == ["image", "image"]  # a list for a file-list
    assert len({document["tool_file_id"], *(i["tool_file_id"] for i in images)}) == 3
    # the SDK would say "document"; Dify detects a zip as "custom" and refuses a mismatch
    assert anything == [{"tool_file_id": anything[0]["tool_file_id"], "transfer_method": "tool_file", "type": "custom"}]


def test_a_refused_file_leaves_nothing_uploaded_even_after_accepted_ones() -> None:
    uploads = FakeFileUpload()
    sent = parts(part("document", "report.pdf"), part("images", "scan.pdf"))
    with pytest.raises(FileRejected):
        files.attach(call_with(uploads), sent, LIMIT)
    assert uploads.uploads == []


def test_a_failed_upload_is_502_with_a_safe_message_and_the_detail_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    detail = 'upload file failed, status code: 403, response: {"message": "Invalid request."} http://10.0.0.7'
    uploads = FakeFileUpload(error=Exception(detail), fail_at=1)
    sent = parts(part("images", "a.png", PNG, "image/png"), part("images", "b.png", PNG, "image/png"))
    with caplog.at_level(logging.WARNING), pytest.raises(FileUploadFailed) as failed:
        files.attach(call_with(uploads), sent, LIMIT)
    assert (failed.value.status, failed.value.code) == (502, "file_upload_failed")
    assert failed.value.message == (
        "`images`: b.png could not be uploaded to Dify, so the app was not run. Try again; if it keeps "
        "failing, the workspace owner finds the reason in the plugin's log."
    )
    assert "10.0.0.7" in caplog.text
    assert "403" in caplog.text
    assert "403" not in failed.value.message


def test_a_network_error_of_the_upload_is_a_failed_upload_too() -> None:
    uploads = FakeFileUpload(error=ConnectionError("Connection refused: files.internal:5001"))
    with pytest.raises(FileUploadFailed):
        files.attach(call_with(uploads), parts(part("document", "report.pdf")), LIMIT)


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        ("fetch app failed: data is nil", "app_not_found", 503),
        ("permission denied, you need to enable app access in plugin manifest", "app_permission_denied", 503),
        ("something else", "app_failed", 502),
    ],
)
def test_an_app_whose_form_cannot_be_read_uploads_nothing(error: str, code: str, status: int) -> None:
    uploads = FakeFileUpload()
    with pytest.raises(AppFailed) as failed:
        files.attach(call_with(uploads, FakeFetchApp(error=error)), parts(part("document", "report.pdf")), LIMIT)
    assert (failed.value.code, failed.value.status) == (code, status)
    assert uploads.uploads == []


@pytest.mark.parametrize(
    ("extension", "mimetype", "kind"),
    [
        ("jpg", "application/octet-stream", "image"),  # Dify's extension lists come before the MIME type
        (".PNG", "application/octet-stream", "image"),
        ("mp3", "application/octet-stream", "audio"),
        ("pdf", "application/octet-stream", "document"),
        ("ogv", "video/ogg", "video"),
        ("ogg", "audio/ogg", "audio"),
        ("log", "text/plain", "document"),
        ("bin", "application/pdf", "document"),
    ],
)
def test_the_extension_decides_before_the_mime_type_which_decides_otherwise(
    extension: str, mimetype: str, kind: str
) -> None:
    assert files.dify_file_type(extension, mimetype) == kind


@pytest.mark.parametrize(
    ("size", "said"),
    [(1024, "1 KiB"), (1023, "1023 bytes"), (2048, "2 KiB"), (102400, "100 KiB"), (1024 * 1024, "1 MiB")],
)
def test_sizes_at_the_unit_boundaries_read_in_the_larger_unit(size: int, said: str) -> None:
    assert files.human_size(size) == said


@pytest.mark.parametrize(
    ("max_length", "max_files"), [(0, None), (1, 1), (3, 3), (None, None), ("3", None), (-1, None)]
)
def test_a_file_lists_limit_is_its_positive_max_length_else_none(max_length: object, max_files: int | None) -> None:
    rule = InputForm.from_parameters({"user_input_form": [{"file-list": {"variable": "v", "max_length": max_length}}]})
    assert rule.files["v"] == FileInput("v", "file-list", frozenset(), frozenset(), max_files)


def test_a_single_file_input_takes_one_file_whatever_its_max_length() -> None:
    read = InputForm.from_parameters({"user_input_form": [{"file": {"variable": "v", "max_length": 5}}]})
    assert read.files["v"].max_files == 1


def test_odd_form_items_are_skipped_and_the_ones_after_them_read() -> None:
    items = ["x", {"text-input": {"variable": 3}}, {"paragraph": {"variable": "p"}}, {"file": {"variable": "f"}}]
    read = InputForm.from_parameters({"user_input_form": items})
    assert read.kinds == {"p": "paragraph", "f": "file"}
    assert list(read.files) == ["f"]


def test_parameters_that_are_not_a_mapping_are_an_empty_form() -> None:
    assert InputForm.from_parameters(cast(Any, None)) == InputForm(kinds={}, files={})


def test_a_custom_only_input_refuses_an_extension_it_does_not_list() -> None:
    rule = FileInput("v", "file", frozenset({"custom"}), frozenset({"dwg"}))
    assert rule.accepts("custom", "dwg")
    assert not rule.accepts("custom", "zip")


@pytest.mark.parametrize(
    ("types", "extensions", "said"),
    [
        ({"document", "image"}, set(), "document or image files"),
        ({"custom"}, set(), "files of any other type"),
        ({"image", "custom"}, {"dxf", "dwg"}, "image files or files ending in .dwg, .dxf"),
    ],
)
def test_the_rule_says_the_accepted_files_in_words(types: set[str], extensions: set[str], said: str) -> None:
    assert FileInput("v", "file", frozenset(types), frozenset(extensions)).rule() == said


@pytest.mark.parametrize(
    ("filename", "mimetype", "stored"),
    [
        ("Xmas.txt", "text/plain", "Xmas.txt"),
        ("x" * 200, "text/plain", "x" * 200),  # exactly the limit: kept whole
        ("x" * 300, "text/plain", "x" * 199),  # no extension to keep
        ("a.b" * 100, "text/plain", "a.b" * 66 + ".b"),  # the last dot starts the extension
        ("a.b" + "c" * 300, "text/plain", "a.b" + "c" * 15),  # a long extension: its first 16 characters
        ("x" * 300 + "." + "y" * 20, "text/plain", "x" * 183 + "." + "y" * 16),
        ("x" * 300 + ".", "text/plain", "x" * 199),  # a bare dot is no extension
        ("", "application/x-unknown-kind", "file"),
    ],
)
def test_long_or_odd_file_names_are_cut_keeping_their_extension(filename: str, mimetype: str, stored: str) -> None:
    assert files.safe_name(filename, mimetype) == stored


def test_a_name_only_the_lenient_mime_table_knows_gets_its_type() -> None:
    assert files.upload_mimetype(part("d", "old.pict", b"%", "application/octet-stream")) == "image/pict"


@pytest.mark.parametrize(("filename", "accepted"), [("backup.tar.gz", True), ("README", False), ("readme.txt", False)])
def test_the_extension_is_what_follows_the_last_dot(filename: str, accepted: bool) -> None:
    rules = InputForm(
        kinds={"v": "file"},
        files={"v": FileInput("v", "file", frozenset({"custom"}), frozenset({"gz", "readme"}))},
    )
    sent = parts(part("v", filename, b"data", "application/octet-stream"))
    if accepted:
        files.check(sent, rules, LIMIT)
    else:
        with pytest.raises(FileRejected, match="does not take"):
            files.check(sent, rules, LIMIT)


def test_a_nameless_file_is_called_the_file() -> None:
    with pytest.raises(FileRejected) as refused:
        files.check(parts(part("document", "", b"")), form(), LIMIT)
    assert refused.value.message == "`document`: the file is empty (0 bytes)."


def test_a_file_of_no_standard_type_is_said_so() -> None:
    with pytest.raises(FileRejected) as refused:
        files.check(parts(part("document", "data.zip", b"PK", "application/zip")), form(), LIMIT)
    assert refused.value.message == (
        "`document` does not take data.zip (a file of no standard type): the app accepts document files there."
    )


def test_a_file_for_an_app_without_file_inputs_says_it_has_none() -> None:
    without = InputForm.from_parameters({"user_input_form": [{"text-input": {"variable": "topic"}}]})
    with pytest.raises(FileRejected) as refused:
        files.check(parts(part("topic", "a.pdf")), without, LIMIT)
    assert refused.value.message == (
        "`topic` is a text-input input of this app, not a file input; it has no file inputs."
    )


def test_a_nameless_upload_is_named_after_its_mime_type() -> None:
    uploads = FakeFileUpload()
    files.attach(call_with(uploads), parts(part("document", "")), LIMIT)
    assert [name for name, _, _ in uploads.uploads] == ["file.pdf"]


def test_a_failed_upload_logs_the_file_the_input_the_app_and_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    uploads = FakeFileUpload(error=Exception("status code: 403"))
    with caplog.at_level(logging.WARNING), pytest.raises(FileUploadFailed):
        files.attach(call_with(uploads), parts(part("document", "report.pdf")), LIMIT)
    assert [r.getMessage() for r in caplog.records] == [
        "file upload failed (report.pdf for `document` of app wf-app): status code: 403"
    ]
