"""RunnerEndpoint with file inputs (multipart), in-process with a fake session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dify_plugin.invocations.file import UploadFileResponse
from werkzeug import Response

from endpoints.runner import RunnerEndpoint
from tests.unit.fakes import FakeAppInterface, FakeFetchApp, FakeFileUpload, FakeUploaded, fake_session, request
from tests.unit.test_files import PARAMETERS, PDF, PNG
from tests.unit.test_parsing import multipart

SETTINGS: dict[str, Any] = {"workflow_app": {"app_id": "wf-app"}, "completion_app": {"app_id": "cp-app"}}
ROUTES = [("/workflow", "workflow", "wf-app"), ("/completion", "completion", "cp-app")]


def send(path: str, body: bytes, settings: dict[str, Any] = SETTINGS, **fakes: Any) -> Response:
    r = request("POST", path, data=body, content_type="multipart/form-data; boundary=b0und4ry")
    return RunnerEndpoint(fake_session(**fakes))._invoke(r, {}, settings)


def body(response: Response) -> str:
    return b"".join(response.iter_encoded()).decode()


def test_the_fake_upload_answers_the_sdks_app_parameter() -> None:
    """FakeUploaded.to_app_parameter must be the SDK's, or these tests prove nothing."""
    for mimetype in ("application/pdf", "image/png", "audio/mpeg", "video/mp4", "application/zip"):
        fake = FakeUploaded("id-1", "f", 3, ".x", mimetype)
        real = UploadFileResponse(id="id-1", name="f", size=3, extension=".x", mime_type=mimetype)
        assert fake.to_app_parameter() == real.to_app_parameter()


@pytest.mark.parametrize(("path", "kind", "app_id"), ROUTES)
def test_files_are_uploaded_and_the_app_gets_their_references(path: str, kind: str, app_id: str) -> None:
    app, uploads, fetch = FakeAppInterface(result={"ok": True}), FakeFileUpload(), FakeFetchApp(PARAMETERS)
    sent = multipart(
        ("inputs", '{"topic": "ducks"}'),
        ("response_mode", "blocking"),
        ("document", ("report.pdf", PDF, "application/pdf")),
        ("images", ("a.png", PNG, "image/png")),
        ("images", ("b.png", PNG, "image/png")),
    )
    response = send(path, sent, files=uploads, fetch_app=fetch, **{kind: app})
    assert response.status_code == 200, body(response)
    assert fetch.calls == [app_id]  # the form of the app from the settings
    assert [name for name, _, _ in uploads.uploads] == ["report.pdf", "a.png", "b.png"]
    [called] = app.calls
    inputs = called["inputs"]
    assert inputs["topic"] == "ducks"
    assert inputs["document"]["transfer_method"] == "tool_file"
    assert [image["type"] for image in inputs["images"]] == ["image", "image"]
    assert called["app_id"] == app_id
    assert called["response_mode"] == "blocking"


def test_a_json_request_reads_no_form_and_uploads_nothing() -> None:
    app, uploads, fetch = FakeAppInterface(), FakeFileUpload(), FakeFetchApp(PARAMETERS)
    r = request("POST", "/workflow", json={"inputs": {"topic": "ducks"}, "response_mode": "blocking"})
    response = RunnerEndpoint(fake_session(workflow=app, files=uploads, fetch_app=fetch))._invoke(r, {}, SETTINGS)
    assert response.status_code == 200
    assert (fetch.calls, uploads.uploads) == ([], [])
    assert app.calls[0]["inputs"] == {"topic": "ducks"}


REFUSALS = [
    (multipart(("topic", ("a.pdf", PDF, "application/pdf"))), 400, "not_a_file_input"),
    (multipart(("document", ("a.png", PNG, "image/png"))), 400, "file_type_not_allowed"),
    (multipart(*[("images", (f"{n}.png", PNG, "image/png")) for n in range(3)]), 400, "too_many_files"),
    (multipart(("document", ("a.pdf", b"", "application/pdf"))), 400, "empty_file"),
    (multipart(("document", ("a.pdf", PDF * 100_000, "application/pdf"))), 413, "file_too_large"),
    (multipart(("document", ("a.pdf", PDF, "application/pdf")))[:-40], 400, "body_truncated"),
]


@pytest.mark.parametrize(("sent", "status", "code"), REFUSALS)
def test_a_refused_file_uploads_nothing_and_runs_no_app(sent: bytes, status: int, code: str) -> None:
    app, uploads = FakeAppInterface(), FakeFileUpload()
    settings = {**SETTINGS, "max_file_mb": "1"}
    response = send("/workflow", sent, settings, workflow=app, files=uploads, fetch_app=FakeFetchApp(PARAMETERS))
    assert response.status_code == status
    assert json.loads(body(response))["error"]["code"] == code
    assert (uploads.uploads, app.calls) == ([], [])


def test_a_failed_upload_is_502_and_runs_no_app() -> None:
    app = FakeAppInterface()
    uploads = FakeFileUpload(error=Exception("upload file failed, status code: 500, response: boom"), fail_at=1)
    sent = multipart(("images", ("a.png", PNG, "image/png")), ("images", ("b.png", PNG, "image/png")))
    response = send("/workflow", sent, workflow=app, files=uploads, fetch_app=FakeFetchApp(PARAMETERS))
    assert response.status_code == 502
    error = json.loads(body(response))["error"]
    assert error["code"] == "file_upload_failed"
    assert "boom" not in error["message"]
    assert "500" not in error["message"]
    assert app.calls == []


def test_the_api_key_is_checked_before_the_body_is_looked_at() -> None:
    uploads, fetch = FakeFileUpload(), FakeFetchApp(PARAMETERS)
    sent = multipart(("document", ("a.pdf", PDF, "application/pdf")))
    response = send("/workflow", sent, {**SETTINGS, "api_key": "k"}, files=uploads, fetch_app=fetch)
    assert response.status_code == 401
    assert (uploads.uploads, fetch.calls) == ([], [])
