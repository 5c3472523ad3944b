"""provider.http: errors become responses in one place; the realm comes from the manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provider import http
from provider.errors import AppFailed, AppNotConfigured, BadRequest, EndpointError, Unauthorized
from provider.sse import ServerSentEvent
from tests.conftest import manifest


def test_the_realm_is_the_plugins_name_from_its_manifest() -> None:
    assert manifest()["name"] == http.realm()
    response = http.json_error(Unauthorized("Send the key.", code="missing_api_key"))
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{manifest()["name"]}"'


@pytest.mark.parametrize(
    "content",
    [
        None,  # no file
        b"name: [unclosed",
        b"- just\n- a list\n",
        b"name: 42\n",
        b'name: "Has Spaces and \\"quotes\\""\n',
        b"name: \xff\xfe\n",
    ],
)
def test_an_unreadable_manifest_gives_the_neutral_realm(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "manifest.yaml"
    if content is not None:
        path.write_bytes(content)
    assert http.realm_of(http.read_manifest(path)) == http.FALLBACK_REALM


def test_a_readable_manifest_gives_its_name(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("name: my_plugin\nversion: 0.1.0\n", encoding="utf-8")
    assert http.realm_of(http.read_manifest(path)) == "my_plugin"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (BadRequest("Fix the body."), 400, "bad_request"),
        (BadRequest("Fix it.", code="invalid_json"), 400, "invalid_json"),
        (AppNotConfigured("Choose an app."), 503, "app_not_configured"),
        (AppFailed("Too slow.", code="app_timeout", status=504), 504, "app_timeout"),
        (EndpointError("Something of ours."), 500, "internal_error"),
    ],
)
def test_json_error_carries_status_code_and_message(error: EndpointError, status: int, code: str) -> None:
    response = http.json_error(error)
    assert response.status_code == status
    assert response.content_type == "application/json; charset=utf-8"
    assert json.loads(response.get_data()) == {"error": {"code": code, "message": error.message}}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "WWW-Authenticate" not in response.headers


def test_json_keeps_non_ascii_text_readable() -> None:
    response = http.json_response({"answer": "canard 🦆"})
    assert response.status_code == 200
    assert "canard 🦆" in response.get_data(as_text=True)


def test_html_error_keeps_the_pages_headers_and_the_challenge() -> None:
    response = http.html_error(Unauthorized("No."), "<p>No.</p>", {"Content-Security-Policy": "default-src 'none'"})
    assert response.status_code == 401
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_an_sse_response_sends_each_lone_frame_as_its_own_chunk_with_anti_buffering_headers() -> None:
    frames = [ServerSentEvent(comment="open"), ServerSentEvent.json("message", {"a": 1}, id="1")]
    response = http.sse_batch_response([frame] for frame in frames)
    assert response.content_type == "text/event-stream; charset=utf-8"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Cache-Control"] == "no-cache"
    assert list(response.response) == [frame.encode() for frame in frames]


def test_html_stream_sends_each_piece_as_it_comes() -> None:
    response = http.html_stream(iter(["<p>", "é", "</p>"]), {"X-Frame-Options": "DENY"})
    assert list(response.response) == [b"<p>", "é".encode(), b"</p>"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Accel-Buffering"] == "no"


def test_shared_code_names_no_particular_plugin() -> None:
    """provider/ is copied into other plugins as is: no word of this one in it, and no
    import of the gallery's package (which a copy deletes)."""
    sources = sorted(Path(http.__file__).parent.glob("*.py"))
    assert len(sources) > 10
    offending = [
        path.name
        for path in sources
        for word in ("gallery", "duck", "鸭")
        if word in path.read_text(encoding="utf-8").lower()
    ]
    assert offending == []


BIG = 3 * http.MAX_CHUNK_BYTES + 17


def test_a_big_json_result_goes_in_chunks_no_larger_than_the_limit() -> None:
    """A 3 MiB blocking result in one chunk would be a 6 MiB stdout line: the daemon kills the plugin."""
    payload = {"data": {"outputs": {"text": "x" * BIG}}}
    chunks = list(http.json_response(payload).response)
    assert max(len(chunk) for chunk in chunks) <= http.MAX_CHUNK_BYTES
    assert json.loads(b"".join(chunks)) == payload


def test_a_small_json_result_is_one_chunk() -> None:
    assert list(http.json_response({"a": 1}).response) == [b'{"a": 1}']


def test_a_huge_sse_frame_is_split_and_small_frames_are_not() -> None:
    frames = [ServerSentEvent(comment="open"), ServerSentEvent.json("text_chunk", {"text": "y" * BIG}, id="1")]
    chunks = list(http.sse_batch_response([frame] for frame in frames).response)
    assert chunks[0] == frames[0].encode()
    assert max(len(chunk) for chunk in chunks) <= http.MAX_CHUNK_BYTES
    assert b"".join(chunks[1:]) == frames[1].encode()


def test_a_huge_html_piece_is_split() -> None:
    chunks = list(http.html_stream(iter(["z" * BIG]), {}).response)
    assert len(chunks) == 4
    assert b"".join(chunks) == b"z" * BIG


def test_a_batch_of_frames_is_one_chunk() -> None:
    frames = [ServerSentEvent.json("message", {"n": n}, id=str(n)) for n in range(3)]
    chunks = list(http.sse_batch_response([frames[:1], frames[1:]]).response)
    assert chunks == [frames[0].encode(), frames[1].encode() + frames[2].encode()]


def test_a_batch_over_the_limit_is_cut_between_frames() -> None:
    pieces = [b"a" * 400, b"b" * 400, b"c" * 400]
    assert list(http.joined_chunks([pieces], limit=1000)) == [pieces[0] + pieces[1], pieces[2]]


def test_a_piece_over_the_limit_in_a_batch_is_cut_and_the_rest_kept_whole() -> None:
    pieces = [b"a" * 10, b"b" * 2500, b"c" * 10]
    chunks = list(http.joined_chunks([pieces], limit=1000))
    assert max(len(chunk) for chunk in chunks) <= 1000
    assert b"".join(chunks) == b"".join(pieces)
    assert chunks[0] == b"a" * 10
    assert chunks[-1] == b"c" * 10


def test_a_json_response_has_the_status_asked_for() -> None:
    assert http.json_response({"accepted": True}, status=202).status_code == 202
    assert http.json_response({}).status_code == 200


def test_streams_answer_200() -> None:
    assert http.sse_batch_response([]).status_code == 200
    assert http.html_stream([], {}).status_code == 200


def test_pieces_that_fill_the_limit_exactly_are_one_chunk() -> None:
    groups = [[b"ab", b"cd"], [b"a", b"bcd", b"ef", b"gh"]]
    assert list(http.joined_chunks(groups, limit=4)) == [b"abcd", b"abcd", b"efgh"]


def test_importing_the_http_helpers_reads_no_manifest() -> None:
    """The manifest is read when first asked for, once (http.manifest), not at import."""
    code = (
        "import pathlib; reads = []; original = pathlib.Path.read_bytes\n"
        "pathlib.Path.read_bytes = lambda self: reads.append(self.name) or original(self)\n"
        "from provider import http, streaming, cors, settings, app_form, files\n"
        "assert reads == [], reads\n"
        "http.manifest(); http.realm(); http.manifest()\n"
        "assert reads == ['manifest.yaml'], reads\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(http.__file__).parent.parent, check=True, timeout=60)
