"""`session.file.upload` behind the devkit: a signed URL on the devkit's own port, the
multipart POST Dify's upload endpoint takes, 201 and the tool-file record, in both
install methods.

The probe's `POST /upload?filename&mimetype` uploads its request body with the SDK;
`POST /upload-url` returns only the signed URL the daemon handed the SDK, for tests
that post to it themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit._files import FileStore
from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

CONFIG = {"endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}]}
FORBIDDEN = {"code": "forbidden", "message": "Invalid request.", "status": 403}


@pytest.fixture(scope="module", params=MODES)
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    work = tmp_path_factory.mktemp(f"upload-{request.param}")
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, mode=request.param, workdir=work, state_dir=work / "state")
    yield devkit
    devkit.stop()


def upload(devkit: RunningDevkit, filename: str, mimetype: str, content: bytes) -> dict[str, Any]:
    response = devkit.client("probe").post(
        "/upload", params={"filename": filename, "mimetype": mimetype}, content=content
    )
    assert response.status_code == 200, response.text
    return response.json()


def signed_url(devkit: RunningDevkit, filename: str, mimetype: str) -> str:
    response = devkit.client("probe").post("/upload-url", params={"filename": filename, "mimetype": mimetype})
    return response.json()["data"]["url"]


def post_file(url: str, filename: str, mimetype: str, content: bytes = b"content") -> httpx.Response:
    """The multipart POST the SDK makes (requests.post(url, files={"file": ...}))."""
    return httpx.post(url, files={"file": (filename, content, mimetype)}, timeout=30)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def plugin_folder(devkit: RunningDevkit) -> Path:
    """<state dir>/<author>/<name>: the parent of the storage folder /devkit/storage names."""
    return Path(devkit.storage()["path"]).parent


def file_store(devkit: RunningDevkit) -> FileStore:
    return FileStore(plugin_folder(devkit) / "files")


# -- through the SDK ------------------------------------------------------------------
def test_upload_answers_the_tool_file_record_and_keeps_the_file(probe: RunningDevkit) -> None:
    content = b"hello files\n"
    answer = upload(probe, "notes.txt", "text/plain", content)
    record = answer["file"]
    assert record["name"] == "notes.txt"
    assert record["size"] == len(content)
    assert record["extension"] == ".txt"  # Dify answers guess_extension(mimetype), with its dot
    assert record["mime_type"] == "text/plain"
    assert record["type"] == "document"  # not sent by Dify: the SDK derives it from the MIME type
    assert answer["app_parameter"] == {"tool_file_id": record["id"], "transfer_method": "tool_file", "type": "document"}

    assert record["preview_url"].startswith(f"{probe.base_url}/files/tools/{record['id']}.txt?timestamp=")
    preview = httpx.get(record["preview_url"])
    assert preview.status_code == 200
    assert preview.content == content
    assert preview.headers["Content-Type"].startswith("text/plain")

    stored = file_store(probe).get(record["id"])
    assert stored is not None
    assert (stored.name, stored.mime_type, stored.size, stored.extension) == ("notes.txt", "text/plain", 12, ".txt")
    assert stored.path.read_bytes() == content
    listed = {f["id"]: f for f in probe.files()}
    assert listed[record["id"]]["path"] == str(stored.path)


def test_a_name_without_extension_gets_the_mime_types_and_images_are_images(probe: RunningDevkit) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    record = upload(probe, "photo", "image/png", png)["file"]
    assert (record["name"], record["extension"], record["type"], record["size"]) == ("photo.png", ".png", "image", 108)
    unicode_name = upload(probe, "résumé 2024.pdf", "application/pdf", b"%PDF-1.4")["file"]
    assert (unicode_name["name"], unicode_name["extension"]) == ("résumé 2024.pdf", ".pdf")


def test_a_request_the_daemon_cannot_validate_fails_in_the_sdk(probe: RunningDevkit) -> None:
    assert upload(probe, "a.txt", "", b"x") == {
        "error": "unmarshal backwards invoke request failed: error validating struct: "
        "Key: 'UploadFileRequest.MimeType' Error:Field validation for 'MimeType' failed on the 'required' tag"
    }


def test_a_mime_type_with_parameters_is_refused_as_werkzeug_drops_them(probe: RunningDevkit) -> None:
    """Dify signs the MIME type as given but verifies the part's `file.mimetype`,
    which werkzeug gives without parameters: the upload is refused."""
    answer = upload(probe, "a.txt", "text/plain; charset=utf-8", b"x")
    assert answer["error"].startswith("upload file failed, status code: 403, response: ")
    assert '"message": "Invalid request."' in answer["error"] or '"message":"Invalid request."' in answer["error"]


# -- the signed URL -----------------------------------------------------------------------
def test_the_signed_url_points_at_the_devkit_and_can_be_used_until_it_expires(probe: RunningDevkit) -> None:
    url = signed_url(probe, "data.csv", "text/csv")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == probe.base_url
    assert parts.path == "/files/upload/for-plugin"
    query = parse_qs(parts.query)
    assert sorted(query) == ["nonce", "sign", "tenant_id", "timestamp", "user_id"]
    assert abs(int(query["timestamp"][0]) - time.time()) < 30
    first = post_file(url, "data.csv", "text/csv", b"a,b\n1,2\n")
    assert first.status_code == 201
    assert first.json()["size"] == 8
    assert post_file(url, "data.csv", "text/csv").status_code == 201  # Dify keeps no nonce list


def test_a_tampered_or_mismatched_upload_is_refused_with_difys_error(probe: RunningDevkit) -> None:
    url = signed_url(probe, "a.txt", "text/plain")
    sign = parse_qs(urlsplit(url).query)["sign"][0]
    tampered = "A" + sign[1:] if sign[0] != "A" else "B" + sign[1:]
    before = len(probe.files())
    for bad in (
        post_file(with_query(url, sign=tampered), "a.txt", "text/plain"),
        post_file(with_query(url, tenant_id="another-workspace"), "a.txt", "text/plain"),
        post_file(with_query(url, user_id="another-user"), "a.txt", "text/plain"),
        post_file(url, "b.txt", "text/plain"),  # the name is signed
        post_file(url, "a.txt", "text/html"),  # and so is the MIME type
    ):
        assert bad.status_code == 403
        assert bad.json() == FORBIDDEN
    no_file = httpx.post(url, data={"file": "not a file"})
    assert (no_file.status_code, no_file.json()["message"]) == (403, "File is required.")
    unsigned = httpx.post(with_query(url, sign=""), files={"file": ("a.txt", b"x", "text/plain")})
    assert unsigned.status_code == 403
    missing = httpx.post(url.replace("sign=", "signature="), files={"file": ("a.txt", b"x", "text/plain")})
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid_param")
    assert len(probe.files()) == before
    assert post_file(url, "a.txt", "text/plain; charset=utf-8").status_code == 201  # werkzeug drops parameters


def test_an_expired_url_is_refused(probe: RunningDevkit) -> None:
    """Signed like Dify signs (the devkit's SECRET_KEY is in the state folder), 301 s old."""
    url = signed_url(probe, "old.txt", "text/plain")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    secret = (plugin_folder(probe).parent.parent / "secret-key").read_text().strip().encode()

    def resigned(age: int) -> str:
        timestamp = str(int(time.time()) - age)
        message = f"upload|old.txt|text/plain|{query['tenant_id']}|{query['user_id']}|{timestamp}|{query['nonce']}"
        sign = base64.urlsafe_b64encode(hmac.new(secret, message.encode(), hashlib.sha256).digest()).decode()
        return with_query(url, timestamp=timestamp, sign=sign)

    assert post_file(resigned(290), "old.txt", "text/plain").status_code == 201
    expired = post_file(resigned(301), "old.txt", "text/plain")
    assert (expired.status_code, expired.json()) == (403, FORBIDDEN)


def test_the_upload_endpoint_has_no_size_limit_of_its_own(probe: RunningDevkit) -> None:
    """Dify's for-plugin endpoint reads the whole part (no FileTooLargeError on this
    path): more than the daemon's 10 MiB request limit goes through."""
    big = bytes(12 * 1024 * 1024)
    response = post_file(
        signed_url(probe, "big.bin", "application/octet-stream"), "big.bin", "application/octet-stream", big
    )
    assert response.status_code == 201
    assert response.json()["size"] == len(big)


def test_stats_count_uploads_and_preview_urls_are_signed(probe: RunningDevkit) -> None:
    before = probe.stats()["uploads"]
    record = upload(probe, "count.txt", "text/plain", b"1")["file"]
    assert probe.stats()["uploads"] == before + 1
    assert httpx.get(with_query(record["preview_url"], sign="x")).status_code == 403
    unknown = record["preview_url"].replace(record["id"], "00000000-0000-0000-0000-000000000000")
    assert httpx.get(unknown).status_code == 403  # the id is signed too
    assert Path(probe.files()[-1]["path"]).read_bytes() == b"1"


def test_an_uploaded_file_is_an_app_input(probe: RunningDevkit) -> None:
    """The documented path: upload, then pass `to_app_parameter()` as the app's file input;
    the demo app resolves the tool file id in the devkit's file store."""
    parameter = upload(probe, "report.pdf", "application/pdf", b"%PDF-1.4 report")["app_parameter"]
    ask = {"kind": "workflow", "app_id": "demo-file-echo", "inputs": {"document": parameter}}
    response = probe.client("probe").post("/app", json={**ask, "response_mode": "blocking"})
    outputs = json.loads(response.text)["event"]["data"]["outputs"]
    assert outputs == {"text": "Received document: report.pdf (document, 15 bytes); attachments: ."}
    unknown = {**parameter, "tool_file_id": "00000000-0000-0000-0000-000000000000"}
    response = probe.client("probe").post("/app", json={**ask, "inputs": {"document": unknown}})
    assert "ToolFile 00000000-0000-0000-0000-000000000000 not found" in json.loads(response.text)["error"]
