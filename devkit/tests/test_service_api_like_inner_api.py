"""The Service API bridge answers like the inner API, against the recorded Service API.

A real Dify 1.13.2 answered the same calls through both APIs (fixtures/real-dify-1.13.2/).
Here the plugin (the probe, on the real `dify_plugin` runtime, stdio and serverless)
calls apps of a local server that answers with the recorded Service API bytes
(`recorded_dify.py`: 200 + ping + silence for a streamed request error, the failing
chatflow's stream closing at `workflow_finished`, 404 for an unknown conversation,
`ToolFile ... not found`, `/files/upload`), and must receive what the recorded inner API
answered: refusals at once with the inner API's status and body, the `error` event, files
that reach the app, no pings, no 240 s waits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from recorded_dify import UNKNOWN_CONVERSATION, RecordedDify, inner_case, inner_frames, service_case
from support import PROBE_PLUGIN, call, events

from dify_plugin_devkit._apps import DEVKIT_USER
from dify_plugin_devkit._apps.service_api import _as_inner, _refused, inner_error, input_error
from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

REJECTED = "invoke app failed: request failed with status code: {status} and respond with: {body}"
PING_BOUND = 1.5  # first_event_timeout of the app whose stream stays silent


@pytest.fixture(scope="module")
def dify() -> Iterator[RecordedDify]:
    server = RecordedDify().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=MODES)
def probe(
    request: pytest.FixtureRequest, dify: RecordedDify, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningDevkit]:
    def real(app_id: str, key: str, mode: str | None = None, **source: Any) -> dict[str, Any]:
        app: dict[str, Any] = {
            "id": app_id,
            "service_api": {"base_url": dify.service_url, "api_key": f"${{{key}}}", **source},
        }
        if mode is not None:
            app["mode"] = mode
        return app

    config = {
        "endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}],
        "apps": [
            real("flow", "FLOW_KEY", "advanced-chat"),
            real("flow-fails", "FLOW_FAILS_KEY", "advanced-chat"),
            real("wf", "WF_KEY", "workflow"),
            real("wf-fails", "WF_FAILS_KEY", "workflow"),
            real("wf-file", "WF_FILE_KEY", "workflow"),
            real("unforeseen", "UNFORESEEN_KEY", "workflow", first_event_timeout=PING_BOUND),
        ],
        # the production cap: a test that waited it out would fail the timing checks below
        "daemon": {"app_stream_timeout": 240},
    }
    keys = {
        "FLOW_KEY": "app-chatflow",
        "FLOW_FAILS_KEY": "app-chatflow-fails",
        "WF_KEY": "app-workflow",
        "WF_FAILS_KEY": "app-workflow-fails",
        "WF_FILE_KEY": "app-workflow-file",
        "UNFORESEEN_KEY": "app-unforeseen",
    }
    work = tmp_path_factory.mktemp(f"service-like-inner-{request.param}")
    devkit = start_devkit(PROBE_PLUGIN, config, mode=request.param, workdir=work, env=keys)
    yield devkit
    devkit.stop()


def as_inner_api_refused(name: str) -> list[dict[str, Any]]:
    case = inner_case(name)
    return [{"error": REJECTED.format(status=case.status, body=case.body.decode())}]


def runs(dify: RecordedDify) -> int:
    return len(dify.seen("/v1/chat-messages")) + len(dify.seen("/v1/workflows/run"))


# --- request errors: at once, as the inner API answers them ------------------------------------


def test_streamed_request_errors_come_back_at_once_with_the_inner_apis_status_and_body(
    probe: RunningDevkit, dify: RecordedDify
) -> None:
    before = runs(dify)
    started = time.monotonic()
    unknown = call(
        probe,
        "chat",
        app_id="flow",
        query="hello",
        inputs={},
        response_mode="streaming",
        conversation_id=UNKNOWN_CONVERSATION,
    )
    assert unknown == as_inner_api_refused("inner_chat_unknown_conv_stream")
    missing = call(probe, "workflow", app_id="wf", inputs={}, response_mode="streaming")
    assert missing == as_inner_api_refused("inner_wf_missing_required_stream")
    select = call(probe, "workflow", app_id="wf", inputs={"topic": "x", "style": "medium"}, response_mode="streaming")
    assert select == as_inner_api_refused("inner_wf_bad_select")
    malformed = call(
        probe, "chat", app_id="flow", query="hello", inputs={}, response_mode="blocking", conversation_id="not-a-uuid"
    )
    assert malformed == as_inner_api_refused("inner_chat_bad_conv_format")
    # recorded Service API: these streamed calls are 200 + ping + silence for 300 s
    assert runs(dify) == before
    assert time.monotonic() - started < 60


def test_a_stream_of_only_pings_ends_within_its_bound_not_at_the_240_s_cap(probe: RunningDevkit) -> None:
    started = time.monotonic()
    [line] = call(probe, "workflow", app_id="unforeseen", inputs={}, response_mode="streaming")
    took = time.monotonic() - started
    assert line["error"].startswith("invoke app failed: POST http://127.0.0.1:")
    assert f"sent only keep-alive pings for {PING_BOUND:g} s" in line["error"]
    assert "response_mode blocking" in line["error"]  # how to see Dify's own error
    assert PING_BOUND <= took < 60


# --- runs ---------------------------------------------------------------------------------------


def test_a_streamed_chatflow_hands_the_plugin_the_recorded_events_and_no_ping(
    probe: RunningDevkit, dify: RecordedDify
) -> None:
    got = events(call(probe, "chat", app_id="flow", query="hello duck", inputs={}, response_mode="streaming"))
    recorded = service_case("chat_stream_new")
    assert recorded.body.startswith(b"event: ping\n\n")
    assert got == recorded.frames()
    assert "ping" not in [event["event"] for event in got]
    assert dify.seen("/v1/chat-messages")[-1].json["user"] == DEVKIT_USER


def test_a_failing_chatflow_ends_with_the_error_event_the_inner_api_sends(probe: RunningDevkit) -> None:
    got = events(call(probe, "chat", app_id="flow-fails", query="hello", inputs={}, response_mode="streaming"))
    service = service_case("chat_fail_stream").frames()
    assert service[-1]["event"] == "workflow_finished"  # where the recorded Service API stream closes
    assert got[:-1] == service
    error = got[-1]
    inner = inner_frames("inner_chat_fail_stream")[-1]["data"]
    assert list(error) == list(inner)  # event, conversation_id, message_id, created_at, code, status, message
    assert (error["code"], error["status"], error["message"]) == (inner["code"], inner["status"], inner["message"])
    finished = service[-1]
    ids = (finished["conversation_id"], finished["message_id"], finished["created_at"])
    assert (error["conversation_id"], error["message_id"], error["created_at"]) == ids


def test_a_failing_chatflow_called_blocking_is_refused_as_the_inner_api_refuses_it(probe: RunningDevkit) -> None:
    lines = call(probe, "chat", app_id="flow-fails", query="hello", inputs={}, response_mode="blocking")
    assert lines == as_inner_api_refused("inner_chat_fail_blocking")


def test_a_failing_workflow_gets_no_error_event_as_in_the_inner_api(probe: RunningDevkit) -> None:
    got = events(call(probe, "workflow", app_id="wf-fails", inputs={"topic": "ducks"}, response_mode="streaming"))
    assert got == service_case("wf_fail_stream").frames()
    assert "error" not in [event["event"] for event in (f["data"] for f in inner_frames("inner_wf_fail_stream"))]


def test_a_file_the_plugin_uploaded_reaches_the_real_app_as_a_local_file(
    probe: RunningDevkit, dify: RecordedDify
) -> None:
    content = b"hello from a plugin file\n"
    uploaded = probe.client("probe").post(
        "/upload", params={"filename": "hello.txt", "mimetype": "text/plain"}, content=content
    )
    parameter = uploaded.json()["app_parameter"]
    assert parameter["transfer_method"] == "tool_file"  # what the recorded Service API refuses (wf_file_tool_file)
    uploads = len(dify.seen("/v1/files/upload"))
    ask = {"app_id": "wf-file", "inputs": {"document": parameter, "topic": "t"}, "response_mode": "streaming"}
    assert events(call(probe, "workflow", **ask)) == service_case("wf_file_local_stream").frames()

    [upload] = dify.seen("/v1/files/upload")[uploads:]
    assert upload.form is not None
    assert upload.form["file"] == ("hello.txt", "text/plain", content)
    assert upload.form["user"] == DEVKIT_USER
    recorded_id = json.loads(service_case("file_upload").body)["id"]
    sent = dify.seen("/v1/workflows/run")[-1].json["inputs"]["document"]
    assert sent == {"type": parameter["type"], "transfer_method": "local_file", "upload_file_id": recorded_id}

    blocking = {**ask, "response_mode": "blocking"}
    [result] = events(call(probe, "workflow", **blocking))
    assert result == json.loads(service_case("wf_file_local_blocking").body)
    assert len(dify.seen("/v1/files/upload")) == uploads + 1  # uploaded once, then reused


def test_fetch_app_gives_what_the_inner_api_gives(probe: RunningDevkit) -> None:
    [line] = call(probe, "fetch_app", app_id="wf")
    assert line["event"] == json.loads(inner_case("inner_fetch_app_workflow").body)["data"]["data"]


# --- the error table -----------------------------------------------------------------------------


def test_a_service_api_404_for_a_conversation_is_the_inner_apis_400_with_an_empty_message() -> None:
    service = service_case("chat_unknown_conv_blocking")
    mapped = _as_inner(_refused(service.status, service.body.decode()))
    inner = inner_case("inner_chat_unknown_conv_blocking")
    assert (mapped.status, mapped.response_text()) == (inner.status, inner.body.decode())


def test_the_bridges_own_errors_are_byte_for_byte_the_inner_apis() -> None:
    cases = {
        "inner_chat_bad_conv_format": inner_error(500, "unknown", ""),
        "inner_wf_missing_required_stream": inner_error(400, "invalid_param", "topic is required in input form"),
        "inner_chat_missing_query": inner_error(400, "invalid_param", "missing query"),
        "inner_wf_bad_select": inner_error(
            400, "invalid_param", "style in input form must be one of the following: ['short', 'long']"
        ),
    }
    for name, error in cases.items():
        case = inner_case(name)
        assert (error.status, error.response_text()) == (case.status, case.body.decode()), name


# --- the input check, case by case against the recordings --------------------------------------

#: (recorded case, its form, the inputs sent: requests.tsv)
INPUT_CASES = [
    ("wf_missing_required_blocking", "params_workflow", {}),
    ("wf_bad_select", "params_workflow", {"topic": "ducks", "style": "medium"}),
    ("wf_empty_optional_select", "params_workflow", {"topic": "ducks", "style": ""}),
    ("wf_too_long", "params_workflow", {"topic": "x" * 150}),
    ("wf_wrong_type", "params_workflow", {"topic": 123}),
    ("wf_file_missing", "params_workflow_file", {}),
    ("wf_file_string", "params_workflow_file", {"document": "hello.txt"}),
    ("wf_empty_required", "params_workflow", {"topic": ""}),  # recorded: accepted (200)
    ("wf_unknown_input", "params_workflow", {"topic": "ducks", "bogus": "x"}),  # recorded: accepted
    ("wf_blocking_good", "params_workflow", {"topic": "ducks", "style": "short"}),
]


@pytest.mark.parametrize(("name", "form", "inputs"), INPUT_CASES, ids=[case[0] for case in INPUT_CASES])
def test_the_input_check_refuses_what_dify_refused_with_its_bytes_and_passes_what_it_ran(
    name: str, form: str, inputs: dict[str, Any]
) -> None:
    recorded = service_case(name)
    refused = input_error(json.loads(service_case(form).body), inputs)
    if recorded.status == 200:
        assert refused is None
    else:
        assert refused is not None
        assert (refused.status, refused.response_text()) == (recorded.status, recorded.body.decode())
