"""File inputs of /workflow and /completion through the devkit, in both install methods.

The plugin uploads each file with `session.file.upload` (the devkit plays Dify's signed
upload URL and its file store) and the demo apps answer with what they received. Every
refusal is proven to leave the store untouched and to run no app (`/devkit/stats`, the
devkit's file store).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit
from tests.conftest import FIXTURES

MIB = 1024 * 1024


def make_pdf(text: str) -> bytes:
    """A small, valid one-page PDF showing `text`."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def make_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG (a little yellow duck-coloured square)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\xd7\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PDF = make_pdf("Ducks quack.")
NOTES = make_pdf("Notes about ducks.")
PNG = make_png()


def snapshot(devkit: RunningDevkit) -> tuple[dict[str, int], int, int]:
    """(app calls, uploads counted by the devkit, files in its store)."""
    stats = devkit.stats()
    return dict(stats["app_calls"]), stats["uploads"], len(devkit.files())


def new_files(devkit: RunningDevkit, before: int) -> list[dict[str, Any]]:
    return devkit.files()[before:]


# -- accepted files ------------------------------------------------------------------------------


def test_a_pdf_and_a_file_list_reach_the_workflow_as_tool_files(gallery: RunningDevkit, client: httpx.Client) -> None:
    calls, _, stored = snapshot(gallery)
    files = [
        ("document", ("report.pdf", PDF, "application/pdf")),
        ("attachments", ("duck.png", PNG, "image/png")),
        ("attachments", ("notes.pdf", NOTES, "application/pdf")),
    ]
    url = gallery.url("files", "/workflow")
    with connect_sse(client, "POST", url, files=files, data={"inputs": "{}"}) as source:
        events = [frame.json() for frame in source.iter_sse()]
    started = next(e for e in events if e["event"] == "workflow_started")
    finished = events[-1]
    assert finished["event"] == "workflow_finished"
    assert finished["data"]["outputs"]["text"] == (
        f"Received document: report.pdf (document, {len(PDF)} bytes); attachments: duck.png (image, "
        f"{len(PNG)} bytes), notes.pdf (document, {len(NOTES)} bytes)."
    )
    uploaded = new_files(gallery, stored)
    assert [(f["name"], f["mime_type"], f["type"]) for f in uploaded] == [
        ("report.pdf", "application/pdf", "document"),
        ("duck.png", "image/png", "image"),
        ("notes.pdf", "application/pdf", "document"),
    ]
    assert [Path(f["path"]).read_bytes() for f in uploaded] == [PDF, PNG, NOTES]  # the bytes sent, whole
    inputs = started["data"]["inputs"]
    document, attachments = inputs["document"], inputs["attachments"]
    # the app got the uploaded tool files themselves: each reference is the stored file's id
    assert (document["transfer_method"], document["related_id"], document["type"]) == (
        "tool_file",
        uploaded[0]["id"],
        "document",
    )
    assert [(a["related_id"], a["type"]) for a in attachments] == [
        (uploaded[1]["id"], "image"),
        (uploaded[2]["id"], "document"),
    ]
    assert gallery.app_calls().get("demo-file-echo", 0) == calls.get("demo-file-echo", 0) + 1


def test_a_completion_gets_a_png_and_a_file_list_with_other_inputs(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    calls, _, stored = snapshot(gallery)
    files = [
        ("document", ("duck.png", PNG, "image/png")),
        ("attachments", ("report.pdf", PDF, "application/pdf")),
        ("attachments", ("notes.pdf", NOTES, "application/octet-stream")),  # the type comes from the name
    ]
    data = {"inputs": '{"unused": "x"}', "response_mode": "blocking", "user": "ada"}
    response = client.post(gallery.url("files", "/completion"), files=files, data=data)
    assert response.status_code == 200, response.text
    assert response.json()["answer"] == (
        f"Received document: duck.png (image, {len(PNG)} bytes); attachments: report.pdf (document, {len(PDF)} "
        f"bytes), notes.pdf (document, {len(NOTES)} bytes)."
    )
    uploaded = new_files(gallery, stored)
    assert [(f["name"], f["mime_type"], f["size"]) for f in uploaded] == [
        ("duck.png", "image/png", len(PNG)),
        ("report.pdf", "application/pdf", len(PDF)),
        ("notes.pdf", "application/pdf", len(NOTES)),
    ]
    assert gallery.app_calls().get("demo-completion-file-echo", 0) == calls.get("demo-completion-file-echo", 0) + 1


def test_json_requests_work_unchanged_next_to_files(gallery: RunningDevkit, client: httpx.Client) -> None:
    _, uploads, stored = snapshot(gallery)
    response = client.post(
        gallery.url("open", "/workflow"), json={"inputs": {"topic": "t"}, "response_mode": "blocking"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "succeeded"
    assert snapshot(gallery)[1:] == (uploads, stored)


# -- refused requests: nothing uploaded, no app run ---------------------------------------------------

REFUSALS: dict[str, tuple[str, str, list[tuple[str, tuple[str, bytes, str]]], int, str]] = {
    # case: (hook, route, files, status, message)
    "not_a_file_input": (
        "files-strict",
        "/workflow",
        [("topic", ("report.pdf", PDF, "application/pdf"))],
        400,
        "`topic` is a text-input input of this app, not a file input; its file inputs are `document`, `images`, "
        "`drawing`.",
    ),
    "file_type_not_allowed": (
        "files-strict",
        "/completion",
        [("document", ("duck.png", PNG, "image/png"))],
        400,
        "`document` does not take duck.png (an image file): the app accepts document files there.",
    ),
    "file_extension_not_allowed": (
        "files-strict",
        "/workflow",
        [("drawing", ("plan.pdf", PDF, "application/pdf"))],
        400,
        "`drawing` does not take plan.pdf (a document file): the app accepts files ending in .dwg there.",
    ),
    "too_many_files": (
        "files-strict",
        "/workflow",
        [("images", (f"{n}.png", PNG, "image/png")) for n in range(3)],
        400,
        "`images` takes at most 2 files; 3 were sent.",
    ),
    "two_files_for_one": (
        "files",
        "/completion",
        [("document", ("a.pdf", PDF, "application/pdf")), ("document", ("b.pdf", PDF, "application/pdf"))],
        400,
        "`document` takes one file; 2 were sent.",
    ),
    "empty_file": (
        "files",
        "/workflow",
        [("attachments", ("duck.png", PNG, "image/png")), ("document", ("empty.pdf", b"", "application/pdf"))],
        400,
        "`document`: empty.pdf is empty (0 bytes).",
    ),
    "file_too_large": (
        "files-small",
        "/workflow",
        [("document", ("big.pdf", PDF + b"%" * 20_000, "application/pdf"))],
        413,
        f"`document`: big.pdf is {(len(PDF) + 20_000) / 1024:.1f} KiB; files may be at most 10.2 KiB "
        "(the endpoint's `max_file_mb` setting).",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_file_uploads_nothing_and_runs_no_app(
    gallery: RunningDevkit, client: httpx.Client, case: str
) -> None:
    hook, route, files, status, message = REFUSALS[case]
    before = snapshot(gallery)
    response = client.post(gallery.url(hook, route), files=files, data={"response_mode": "blocking"})
    assert response.status_code == status, response.text
    code = response.json()["error"]["code"]
    assert response.json()["error"]["message"] == message
    assert code == (
        "file_type_not_allowed"
        if case == "file_extension_not_allowed"
        else case.replace("two_files_for_one", "too_many_files")
    )
    assert snapshot(gallery) == before


def test_a_file_limit_setting_above_what_dify_passes_on_is_503(gallery: RunningDevkit, client: httpx.Client) -> None:
    before = snapshot(gallery)
    response = client.post(
        gallery.url("bad-file-limit", "/workflow"), files=[("document", ("a.pdf", PDF, "application/pdf"))]
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "app_not_configured"
    assert snapshot(gallery) == before


@pytest.mark.parametrize("mode", MODES)
def test_a_body_over_10_mib_is_never_passed_on_in_part(
    dify_devkit: DevkitFactory, client: httpx.Client, mode: str
) -> None:
    """The daemon cuts a body at 10 MiB. A local plugin then sees a multipart body without
    its closing boundary: 400 `body_truncated`. A serverless plugin never gets it at all:
    the daemon refuses a request over ~2.5 MiB itself (500 ServerlessPayloadTooLarge)."""
    devkit = dify_devkit(config=FIXTURES / "gallery.yaml", mode=mode)  # the gallery fixture's devkit
    before = snapshot(devkit)
    big = PDF + b"%" * (10 * MIB + 100_000)
    response = client.post(devkit.url("files", "/workflow"), files=[("document", ("big.pdf", big, "application/pdf"))])
    if mode == "local":
        assert response.status_code == 400, response.text[:300]
        assert response.json()["error"]["code"] == "body_truncated"
    else:
        assert response.status_code == 500
        assert "ServerlessPayloadTooLarge" in response.text
    assert snapshot(devkit) == before


# -- failed uploads (the `broken_storage` devkit: tests/endpoints/conftest.py) -----------------------


def test_an_upload_dify_refuses_is_502_with_a_safe_message_and_no_app_run(
    broken_storage: RunningDevkit, client: httpx.Client
) -> None:
    calls = broken_storage.app_calls()
    files = [("document", ("report.pdf", PDF, "application/pdf"))]
    response = client.post(broken_storage.url("files", "/workflow"), files=files)
    assert response.status_code == 502
    assert response.json() == {
        "error": {
            "code": "file_upload_failed",
            "message": "`document`: report.pdf could not be uploaded to Dify, so the app was not run. Try again; "
            "if it keeps failing, the workspace owner finds the reason in the plugin's log.",
        }
    }
    assert broken_storage.app_calls() == calls
    assert broken_storage.files() == []
    # the reason is in the plugin's log (Dify shows it to the workspace owner)
    log = broken_storage.wait_for_log("file upload failed (report.pdf for `document`")
    assert "status code: 500" in log
