"""Every row of docs/reference.md's error table, answered with its status and message.

Each code is reached end to end through the devkit (the `gallery` fixture, both
install methods) where the devkit can produce it. Two cannot be:

- `app_timeout`: the daemon's "invocation exited without response" comes only when the
  SDK's own 250 s read timeout fires, longer than a test may wait;
- `app_permission_denied`: the daemon refuses app calls of a plugin whose manifest lacks
  the app permission, but `dify-devkit run` refuses such a plugin before it starts (its
  check reports `resource.permission.app.enabled`), as Dify's install does.

Their mapping is proven in-process instead, from the daemon's exact text to the
HTTP response the endpoints send (`http.json_error`).

`body_truncated` comes from the daemon's 10 MiB cut, which only a local plugin sees
(a serverless plugin never gets a body over ~2.5 MiB: the daemon refuses it), so it is
reached in local mode; `file_upload_failed` needs Dify's file storage to fail, so it is
reached on a devkit whose storage is broken (the `broken_storage` fixture).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from dify_plugin_devkit.testing import RunningDevkit
from provider import http
from provider.apps import AppCall
from provider.errors import AppFailed
from tests.conftest import ROOT
from tests.endpoints.test_file_inputs import PDF, PNG
from tests.unit.fakes import FakeAppInterface, fake_session

#: What the daemon writes when an app call fails; none of it may reach a client.
DAEMON_WORDS = ("invoke app failed", "request failed with status code", "respond with", "read app failed")
KEY = "s3cret-key"
CONVERSATION = "6b1e5a43-8a3f-4a61-9d0e-1c2b3a4d5e6f"  # a UUID no app knows


@dataclass(frozen=True)
class Case:
    """One request that must be refused with `status` and `message`.

    `shape`: "json" (a JSON error body), "html" (Duck's error page), "sse" (a stream whose
    last frame is the error: the status is in the frame), "page" (Duck's answer page,
    already sent as 200: only the message is visible, in its error block).
    """

    status: int
    message: str
    hook: str = "open"
    method: str = "POST"
    route: str = "/workflow"
    send: dict[str, Any] = field(default_factory=dict)
    shape: str = "json"
    modes: tuple[str, ...] = ("local", "serverless")  # the install methods that can produce it


CASES: dict[str, Case] = {
    "invalid_json": Case(
        400,
        "The request body is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2).",
        send={"content": b"{nope", "headers": {"Content-Type": "application/json"}},
    ),
    "invalid_body": Case(
        400, 'The request body must be a JSON object like {"inputs": {...}}, not a JSON array.', send={"json": [1]}
    ),
    "invalid_field": Case(
        400,
        "`inputs` must be a JSON object mapping variable names to values, not a JSON array.",
        send={"json": {"inputs": [1]}},
    ),
    "unknown_field": Case(
        400, "Unknown field `input`; allowed fields are inputs, response_mode, user.", send={"json": {"input": {}}}
    ),
    "invalid_response_mode": Case(
        400,
        '`response_mode` must be "streaming" or "blocking", not "fast".',
        send={"json": {"inputs": {}, "response_mode": "fast"}},
    ),
    "missing_query": Case(
        400, "Type a question: `query` is empty.", route="/duck", send={"data": {"query": "  "}}, shape="html"
    ),
    "field_too_large": Case(
        400, "`user` is too long (257 characters; at most 256).", send={"json": {"inputs": {}, "user": "u" * 257}}
    ),
    "invalid_inputs": Case(
        400,
        "The app rejected the request: topic is required in input form",
        send={"json": {"inputs": {}, "response_mode": "blocking"}},
    ),
    "missing_api_key": Case(
        401,
        "This endpoint needs an API key: send `Authorization: Bearer <key>`.",
        hook="locked",
        send={"json": {"inputs": {"topic": "t"}}},
    ),
    "invalid_api_key": Case(
        401,
        "The API key is wrong: send `Authorization: Bearer <key>` with the key set in the endpoint's settings.",
        hook="locked",
        send={"json": {"inputs": {"topic": "t"}}, "headers": {"Authorization": "Bearer wrong"}},
    ),
    "conversation_not_found": Case(
        404,
        "This conversation does not exist (or belongs to another app): leave conversation_id empty to start a new one.",
        route="/duck",
        send={"data": {"query": "hi", "conversation_id": CONVERSATION}},
        shape="page",
    ),
    "app_stream_failed": Case(
        502, "The app failed while answering.", hook="failing", send={"json": {"inputs": {}}}, shape="sse"
    ),
    # Dify's generic 500 ("Internal Server Error") from a completion app: what Dify 1.13.2
    # answers every plugin call of one (its defect), or the app's own failure on a later Dify
    "completion_unsupported": Case(
        502,
        "Dify could not run the completion app set in `completion_app`. Dify 1.13.2 cannot run completion apps "
        "from a plugin at all (a defect: its plugin invocation drops the `query` a completion app needs); on "
        "such a Dify, rebuild the app as a workflow app (a Start node with the same inputs, an LLM node, an End "
        "node) and choose it instead. On a Dify without this defect, the app itself failed: its logs in Dify "
        "say why.",
        hook="unrecognised-failure",
        route="/completion",
        send={"json": {"inputs": {}, "response_mode": "blocking"}},
    ),
    "app_not_configured": Case(
        503,
        "This endpoint has no app to call: the workspace owner must choose one in the endpoint's "
        "`workflow_app` setting in Dify.",
        hook="empty",
        send={"json": {}},
    ),
    "app_not_found": Case(
        503,
        "The app set in `workflow_app` was not found in this workspace; choose another app in the endpoint's settings.",
        hook="missing",
        send={"json": {"response_mode": "blocking"}},
    ),
    "app_wrong_type": Case(
        503,
        "The app set in `workflow_app` is a chat app and needs a question; choose a workflow app in the "
        "endpoint's settings.",
        hook="mismatched",
        send={"json": {"response_mode": "blocking"}},
    ),
    "not_a_file_input": Case(
        400,
        "`topic` is a text-input input of this app, not a file input; its file inputs are `document`, `images`, "
        "`drawing`.",
        hook="files-strict",
        send={"files": [("topic", ("a.pdf", PDF, "application/pdf"))]},
    ),
    "file_type_not_allowed": Case(
        400,
        "`document` does not take duck.png (an image file): the app accepts document files there.",
        hook="files-strict",
        send={"files": [("document", ("duck.png", PNG, "image/png"))]},
    ),
    "too_many_files": Case(
        400,
        "`images` takes at most 2 files; 3 were sent.",
        hook="files-strict",
        route="/completion",
        send={"files": [("images", (f"{n}.png", PNG, "image/png")) for n in range(3)]},
    ),
    "empty_file": Case(
        400,
        "`document`: empty.pdf is empty (0 bytes).",
        hook="files",
        send={"files": [("document", ("empty.pdf", b"", "application/pdf"))]},
    ),
    "body_truncated": Case(
        400,
        "The request body ended before its last multipart boundary: it was cut on the way (Dify passes at most "
        "10 MiB of a request to the plugin). Nothing was uploaded; send smaller files.",
        hook="files",
        send={"files": [("document", ("big.pdf", PDF + b"%" * (10 * 1024 * 1024), "application/pdf"))]},
        modes=("local",),
    ),
    "file_too_large": Case(
        413,
        "`document`: big.pdf is 19.5 KiB; files may be at most 10.2 KiB (the endpoint's `max_file_mb` setting).",
        hook="files-small",
        send={"files": [("document", ("big.pdf", b"%" * 20_000, "application/pdf"))]},
    ),
}

#: Codes reached on a devkit of their own (see the module doc), with their status and message.
BROKEN_STORAGE: dict[str, tuple[int, str]] = {
    "file_upload_failed": (
        502,
        "`document`: report.pdf could not be uploaded to Dify, so the app was not run. Try again; if it keeps "
        "failing, the workspace owner finds the reason in the plugin's log.",
    ),
}

#: Codes the devkit cannot produce (see the module doc): the daemon's exact text → (status, message).
IN_PROCESS: dict[str, tuple[str, int, str]] = {
    # Dify's generic 500 from a workflow: a failure the provider does not recognise (a blocking
    # workflow's own failure is a 200 envelope, so the devkit cannot make Dify answer this)
    "app_failed": (
        'invoke app failed: request failed with status code: 500 and respond with: {"message":"Internal Server '
        'Error","code":"unknown","status":500}',
        502,
        "The app could not be run.",
    ),
    "app_timeout": ("invocation exited without response", 504, "The app did not answer in time."),
    "app_permission_denied": (
        "permission denied, you need to enable app access in plugin manifest",
        503,
        "The plugin is not allowed to call apps (its manifest lacks the app permission).",
    ),
}


def readme_error_table() -> dict[str, int]:
    """code → status of every row of docs/reference.md's error table (a "502 / 504" row gives 502)."""
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    table = text.split("### Errors", 1)[1].split("###", 1)[0]
    codes: dict[str, int] = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 3 and re.match(r"\d{3}", cells[0]):
            for code in re.findall(r"`([a-z_]+)`", cells[1]):
                codes[code] = int(cells[0][:3])
    return codes


def test_every_row_of_the_readme_error_table_is_tested() -> None:
    table = readme_error_table()
    assert len(table) >= 18  # the parser found the table
    assert set(table) == set(CASES) | set(IN_PROCESS) | set(BROKEN_STORAGE)
    statuses = {code: case.status for code, case in CASES.items()} | {c: s for c, (_, s, _) in IN_PROCESS.items()}
    statuses |= {code: status for code, (status, _) in BROKEN_STORAGE.items()}
    for code, status in table.items():
        # "502 / 504" is one row: the codes in it are 502 or 504
        assert statuses[code] == status or (status == 502 and statuses[code] == 504), code


def assert_no_daemon_words(text: str) -> None:
    assert not any(word in text.lower() for word in DAEMON_WORDS), text[:500]


@pytest.mark.parametrize("code", list(CASES))
def test_each_error_code_end_to_end(
    gallery: RunningDevkit, client: httpx.Client, code: str, request: pytest.FixtureRequest
) -> None:
    case = CASES[code]
    if request.node.callspec.params["gallery"] not in case.modes:
        pytest.skip(f"{code} cannot happen in this install method (see the module doc)")
    before, files_before = gallery.app_calls(), len(gallery.files())
    url = gallery.url(case.hook, case.route)
    if case.shape == "sse":
        with connect_sse(client, case.method, url, **case.send) as source:
            frames = list(source.iter_sse())
        assert frames[-1].event == "error"
        assert frames[-1].json() == {"event": "error", "status": case.status, "code": code, "message": case.message}
        assert_no_daemon_words("".join(f.data for f in frames))
        return
    response = client.request(case.method, url, **case.send)
    assert_no_daemon_words(response.text)
    if case.shape == "page":
        # the page (status 200) was on its way before the app refused: the status is the unit tests'
        assert response.status_code == 200
        assert f'<div class="error" role="alert">{escape(case.message)}</div>' in response.text
        return
    assert response.status_code == case.status, response.text[:300]
    assert response.headers["cache-control"] == "no-store"
    if case.shape == "html":
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert f'<div class="error" role="alert">{escape(case.message)}</div>' in response.text
    else:
        assert response.json() == {"error": {"code": code, "message": case.message}}
    if case.status < 500 and code != "invalid_inputs":  # refused before any app call
        assert gallery.app_calls() == before
    assert len(gallery.files()) == files_before  # no refusal leaves a file behind


@pytest.mark.parametrize("code", list(BROKEN_STORAGE))
def test_codes_of_a_failing_dify_end_to_end(broken_storage: RunningDevkit, client: httpx.Client, code: str) -> None:
    status, message = BROKEN_STORAGE[code]
    before = broken_storage.app_calls()
    files = [("document", ("report.pdf", PDF, "application/pdf"))]
    response = client.post(broken_storage.url("files", "/workflow"), files=files)
    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"error": {"code": code, "message": message}}
    assert_no_daemon_words(response.text)
    assert broken_storage.app_calls() == before


@pytest.mark.parametrize("code", list(IN_PROCESS))
def test_codes_the_devkit_cannot_produce_map_from_the_daemons_text(code: str) -> None:
    text, status, message = IN_PROCESS[code]
    call = AppCall(
        fake_session(workflow=FakeAppInterface(error=text)), kind="workflow", setting="workflow_app", app_id="a"
    )
    with pytest.raises(AppFailed) as raised:
        call.blocking()
    response = http.json_error(raised.value)
    assert response.status_code == status
    assert json.loads(response.get_data()) == {"error": {"code": code, "message": message}}
    assert_no_daemon_words(response.get_data(as_text=True))


def test_an_unrecognised_app_failure_streams_difys_own_error_event(
    gallery: RunningDevkit, client: httpx.Client
) -> None:
    """Streaming, the same app's model error is Dify's `error` event, passed through as a frame."""
    url = gallery.url("unrecognised-failure", "/completion")
    with connect_sse(client, "POST", url, json={"inputs": {}}) as source:
        frames = list(source.iter_sse())
    assert [f.event for f in frames] == ["message", "message", "error"]
    assert_no_daemon_words("".join(f.data for f in frames))


@pytest.mark.parametrize("mode", ["streaming", "blocking"])
def test_a_completion_app_in_dify_1_13_2_is_explained_not_a_bare_502(
    gallery: RunningDevkit, client: httpx.Client, mode: str
) -> None:
    """Dify 1.13.2 answers every plugin call of a completion app 500 before any event
    (devkit quirk `completion_from_plugin_fails`, as recorded): the caller gets the
    refusal that names the defect and the workaround (a blocking JSON error, or the
    stream's error frame: a stream's headers go out before the app answers)."""
    url, body = gallery.url("dify-1-13-2", "/completion"), {"inputs": {"name": "Ada"}, "response_mode": mode}
    expected = {"code": "completion_unsupported", "message": CASES["completion_unsupported"].message}
    if mode == "streaming":
        with connect_sse(client, "POST", url, json=body) as source:
            frames = list(source.iter_sse())
        assert [f.event for f in frames] == ["error"]
        assert frames[-1].json() == {"event": "error", "status": 502, **expected}
        assert_no_daemon_words(frames[-1].data)
        return
    response = client.post(url, json=body)
    assert response.status_code == 502, response.text[:300]
    assert response.json() == {"error": expected}
    assert_no_daemon_words(response.text)
