"""Recordings are the tests: every recorded inner-API case of a real Dify 1.13.2, replayed
against the devkit.

The recordings (fixtures/real-dify-1.13.2/, README there) are what Dify's inner API
answered the plugin daemon, which relays it to the plugin as it is. Each case sends the
recorded request to the devkit's app backend, with the recorded apps loaded from their
DSL files the way a devkit.yaml `dsl:` entry loads them, and compares what matters to a
plugin:

- a refusal: the HTTP status and the error body, byte for byte;
- a run: the event names in their order, each event's field names and value types
  (recursively; ids, timestamps and durations may differ), and the streamed texts with
  the variable each piece comes from.

Cases that cannot match are `xfail(strict=True)` with their reason, and listed in
devkit/README.md, "Knowingly differs". `pytest -s` prints the figure (matched / total).
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from app_support import drain

from dify_plugin_devkit._apps import DEFAULT_APPS_FILE, AppBackend, AppCallError
from dify_plugin_devkit._apps.dsl import DslApp, load_dsl_app
from dify_plugin_devkit._files import FileService, FileStore, SecretKey

RECORDED = Path(__file__).parent / "fixtures" / "real-dify-1.13.2"
INNER = RECORDED / "inner-api"
#: What the recorded Code nodes answered: there was no sandbox.
SANDBOX_DOWN = (
    "Failed to execute code, which is likely a network issue, please check if the sandbox service is running. "
    "( Error: [Errno 111] Connection refused )"
)
#: What the recorded basic chat answered: there was no plugin daemon (no model provider).
NO_MODEL = "Failed to request plugin daemon, url: plugin/cfbc4a25-0a58-4a4c-b201-01f2df7d154f/management/models"
#: The recorded apps as devkit.yaml entries (paths relative to the recordings' folder).
ENTRIES: list[dict[str, Any]] = [
    {"id": "chatflow", "dsl": "apps/chatflow.yml"},
    {"id": "workflow", "dsl": "apps/workflow.yml"},
    {"id": "workflow_fails", "dsl": "apps/workflow_fails.yml", "nodes": {"code": {"fail": SANDBOX_DOWN}}},
    {"id": "chatflow_fails", "dsl": "apps/chatflow_fails.yml", "nodes": {"code": {"fail": SANDBOX_DOWN}}},
    {"id": "chat_basic", "dsl": "apps/chat_basic.yml", "fail": NO_MODEL},
    {"id": "completion_basic", "dsl": "apps/completion_basic.yml"},
    {"id": "workflow_file", "dsl": "apps/workflow_file.yml"},
]
#: requests.tsv's placeholders of app ids.
APP_IDS = {
    "<chatflow app id>": "chatflow",
    "<workflow app id>": "workflow",
    "<workflow_fails app id>": "workflow_fails",
    "<chatflow_fails app id>": "chatflow_fails",
}
#: The cases requests.tsv does not list (the recordings' README), as the daemon sent them.
EXTRA_REQUESTS: dict[str, dict[str, Any]] = {
    "inner_basic_stream": {"app_id": "chat_basic", "inputs": {}, "query": "hello", "response_mode": "streaming"},
    "inner_basic_unknown_conv": {
        "app_id": "chat_basic",
        "inputs": {},
        "query": "hello",
        "response_mode": "streaming",
        "conversation_id": "0b0e1c57-0000-4000-8000-000000000000",
    },
    "inner_completion_stream": {"app_id": "completion_basic", "inputs": {"name": "Ada"}, "response_mode": "streaming"},
    "inner_wf_file_tool_file": {"app_id": "workflow_file", "response_mode": "blocking"},
}
#: Cases that cannot match, and why (devkit/README.md, "Knowingly differs").
KNOWN_DIFFERENCES: dict[str, str] = {
    "inner_bad_key": (
        "the daemon's X-Inner-Api-Key is between the daemon and Dify: a plugin cannot send a wrong one, "
        "and the devkit (daemon and Dify in one) has no inner-API key to check"
    ),
}


def recorded_cases() -> dict[str, dict[str, Any]]:
    """Every inner-API case: its request (as the plugin's SDK sends it), by name."""
    cases: dict[str, dict[str, Any]] = {}
    with (RECORDED / "requests.tsv").open(newline="") as table:
        for row in csv.DictReader(table, delimiter="\t"):
            if not row["case"].startswith("inner_"):
                continue
            body = json.loads(row["request body or form"])
            body["app_id"] = APP_IDS.get(body["app_id"], body["app_id"])
            for key in ("tenant_id", "user_id", "type"):  # the daemon's, not the plugin's
                body.pop(key, None)
            cases[row["case"]] = body
    cases.update(EXTRA_REQUESTS)
    names = {path.name.split(".")[0] for path in INNER.iterdir()} - {"plugin_file_upload"}
    assert names <= set(cases) | set(KNOWN_DIFFERENCES), f"recorded but not replayed: {names - set(cases)}"
    return {name: cases.get(name, {}) for name in sorted(names)}


CASES = recorded_cases()
RESULTS: dict[str, bool] = {}


def dsl_apps() -> list[DslApp]:
    return [load_dsl_app(entry, RECORDED, f"ENTRIES[{i}]") for i, entry in enumerate(ENTRIES)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> FileService:
    """The devkit's file store and upload service, as `PluginState` makes them."""
    folder = tmp_path_factory.mktemp("fidelity-files")
    return FileService(FileStore(folder / "files"), SecretKey(folder / "secret-key"), lambda: "http://127.0.0.1:5002")


@pytest.fixture(scope="module")
def backend(files: FileService) -> AppBackend:
    """One devkit for all cases, as the recordings were made against one Dify (the
    follow-up turn continues the conversation the first turn started)."""
    return AppBackend([], dsl_apps=dsl_apps(), file_lookup=files.app_file)


#: Every other recorded comparison (input checks, parameters, Service API runs, demo twins).
OTHERS: dict[str, bool] = {}


@pytest.fixture(scope="module", autouse=True)
def figure() -> Iterator[None]:
    yield
    matched = sum(RESULTS.values())
    print(f"\nfidelity: {matched} / {len(CASES) + 1} recorded inner-API cases matched")  # +1: plugin_file_upload
    total = len(CASES) + 1 + len(FORM_CASES) + len(PARAMETER_CASES) + len(SERVICE_RUNS) + len(DEMO_TWINS)
    print(f"fidelity: {matched + sum(OTHERS.values())} / {total} recorded comparisons matched in all")


# --- what is compared -------------------------------------------------------------------


def shape(value: Any) -> Any:
    """Field names and value types, recursively (ids, times and texts may differ)."""
    if isinstance(value, Mapping):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def streamed(frames: list[dict[str, Any]]) -> list[tuple[str, str, list[str] | None]]:
    """The streamed texts, each with the event and the variable it comes from."""
    pieces = []
    for frame in frames:
        if frame.get("event") == "message":
            pieces.append(("message", frame["answer"], frame.get("from_variable_selector")))
        elif frame.get("event") == "text_chunk":
            pieces.append(("text_chunk", frame["data"]["text"], frame["data"]["from_variable_selector"]))
    return pieces


def recording(name: str) -> tuple[int, bytes, list[dict[str, Any]] | None]:
    """The recorded status, raw body and (for a stream or a blocking answer) the frames' data."""
    status = int((INNER / f"{name}.headers").read_text().split()[1])
    body = (INNER / f"{name}.body").read_bytes()
    frames_file = INNER / f"{name}.frames.jsonl"
    if not frames_file.exists():
        return status, body, None
    frames = [json.loads(line) for line in frames_file.read_text().splitlines() if line.strip()]
    assert all(frame["error"] == "" for frame in frames)
    return status, body, [frame["data"] for frame in frames]


def replay(backend: AppBackend, files: FileService, name: str, request: dict[str, Any]) -> Any:
    """What the devkit answers the recorded request: events, parameters or an AppCallError."""
    request = dict(request)
    if name.startswith("inner_fetch_app"):
        try:
            return backend.fetch_app(request["app_id"])
        except AppCallError as error:
            return error
    if name == "inner_chat_stream_followup":
        first = replay(backend, files, "inner_chat_stream_new", CASES["inner_chat_stream_new"])
        request["conversation_id"] = first[0]["conversation_id"]
    if name == "inner_wf_file_tool_file":
        stored = files.store.put("hello.txt", b"Hello from a plugin file.", "text/plain")
        request["inputs"] = {
            "document": {"tool_file_id": stored.id, "transfer_method": "tool_file", "type": "document"}
        }
    got: list[dict[str, Any]] = []
    try:
        asyncio.run(drain(backend.invoke(request), got))
    except AppCallError as error:
        return error
    return got


def compare(name: str, status: int, body: bytes, frames: list[dict[str, Any]] | None, answer: Any) -> None:
    if status != 200:
        assert isinstance(answer, AppCallError), f"Dify refused with {status}; the devkit answered {answer!r}"
        assert (answer.status, answer.response_text().encode()) == (status, body)
        return
    assert not isinstance(answer, AppCallError), f"Dify answered 200; the devkit refused: {answer.response_text()}"
    if frames is None:  # fetch_app: the daemon hands the plugin the inner `data`
        assert shape(answer) == shape(json.loads(body)["data"]["data"])
        assert answer == json.loads(body)["data"]["data"]
        return
    assert [frame.get("event") for frame in answer] == [frame.get("event") for frame in frames]
    for got, want in zip(answer, frames, strict=True):
        assert shape(got) == shape(want), f"{want.get('event')}: fields or types differ"
    assert streamed(answer) == streamed(frames)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[name]))
        if name in KNOWN_DIFFERENCES
        else name
        for name in CASES
    ],
)
def test_recorded_inner_api_case(name: str, backend: AppBackend, files: FileService) -> None:
    status, body, frames = recording(name)
    RESULTS[name] = False
    if name == "inner_bad_key":
        pytest.fail(KNOWN_DIFFERENCES[name])
    compare(name, status, body, frames, replay(backend, files, name, CASES[name]))
    RESULTS[name] = True


def test_recorded_plugin_file_upload(files: FileService) -> None:
    """The signed upload URL's answer (`session.file.upload`): Dify's FileResponse."""
    status, body, _ = recording("plugin_file_upload")
    stored = files.store.put("hello.txt", b"Hello from a plugin file.", "text/plain")
    answer = stored.response(files.preview_url(stored))
    RESULTS["plugin_file_upload"] = False
    assert status == 201
    assert shape(answer) == shape(json.loads(body))
    RESULTS["plugin_file_upload"] = True


# --- the input form's checks (recorded through the Service API: the same generator) ----

#: Service API cases of the workflow's form; Dify checks inputs in the app generator, which
#: the inner API runs too, so a plugin gets the same refusal (or run).
FORM_CASES: dict[str, dict[str, Any]] = {
    "wf_missing_required_blocking": {},
    "wf_empty_required": {"topic": ""},
    "wf_bad_select": {"topic": "ducks", "style": "medium"},
    "wf_empty_optional_select": {"topic": "ducks", "style": ""},
    "wf_too_long": {"topic": "x" * 150},
    "wf_wrong_type": {"topic": 123},
    "wf_unknown_input": {"topic": "ducks", "bogus": "x"},
}


@pytest.mark.parametrize("name", list(FORM_CASES))
def test_recorded_input_check(name: str, backend: AppBackend, files: FileService) -> None:
    status = int((RECORDED / "service-api" / f"{name}.headers").read_text().split()[1])
    body = (RECORDED / "service-api" / f"{name}.body").read_bytes()
    request = {"app_id": "workflow", "inputs": FORM_CASES[name], "response_mode": "blocking", "user": ""}
    answer = replay(backend, files, name, request)
    if status != 200:
        assert isinstance(answer, AppCallError)
        assert (answer.status, answer.response_text().encode()) == (status, body)
    else:
        [result] = answer
        recorded = json.loads(body)
        assert shape(result) == shape(recorded)
        assert result["data"]["outputs"] == recorded["data"]["outputs"]
    OTHERS[f"form:{name}"] = True


# --- the demo apps have the recorded shapes ------------------------------------------------

#: A recorded stream, and the demo app whose events of the same kinds must have its fields.
DEMO_TWINS = {
    "inner_chat_stream_new": ("demo-chatflow", {"query": "hi"}),
    "inner_wf_stream_good": ("demo-workflow", {"inputs": {"topic": "ducks"}}),
    "inner_wf_fail_stream": ("demo-workflow-fails", {"inputs": {}}),
}


def fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event's fields and value types, and those of its `data` (not deeper: the demo
    apps' nodes and inputs are their own)."""
    top = {key: type(value).__name__ for key, value in event.items() if key != "data"}
    data = event.get("data")
    if isinstance(data, Mapping):
        top["data"] = {key: type(value).__name__ for key, value in data.items()}
    return top


@pytest.mark.parametrize("name", list(DEMO_TWINS))
def test_demo_app_events_have_the_recorded_fields(name: str) -> None:
    _, _, frames = recording(name)
    assert frames is not None
    app_id, ask = DEMO_TWINS[name]
    got: list[dict[str, Any]] = []
    request = {"app_id": app_id, "response_mode": "streaming", "user": "", **ask}
    asyncio.run(drain(AppBackend.from_files(DEFAULT_APPS_FILE).invoke(request), got))
    recorded_kinds = {frame["event"]: fields(frame) for frame in frames}
    demo_kinds = {event["event"]: fields(event) for event in got}
    assert set(demo_kinds) == set(recorded_kinds)
    for kind, recorded in recorded_kinds.items():
        assert demo_kinds[kind] == recorded, kind
    order = [e["event"] for e in got if e["event"] in ("message_end", "workflow_finished")]
    assert order == [f["event"] for f in frames if f["event"] in ("message_end", "workflow_finished")]
    OTHERS[f"demo:{name}"] = True


# --- /parameters as Dify derives them from the DSL (recorded through the Service API) ------

#: Service API `GET /parameters` cases and the app each asks: the same
#: get_parameters_from_feature_dict answers `fetch_app` (the inner API).
PARAMETER_CASES = {
    "params_chatflow": "chatflow",
    "params_workflow": "workflow",
    "params_workflow_file": "workflow_file",
    "basic_params": "chat_basic",
    "completion_params": "completion_basic",
}


@pytest.mark.parametrize("name", list(PARAMETER_CASES))
def test_recorded_parameters(name: str, backend: AppBackend) -> None:
    recorded = json.loads((RECORDED / "service-api" / f"{name}.body").read_bytes())
    assert backend.fetch_app(PARAMETER_CASES[name]) == recorded
    OTHERS[f"parameters:{name}"] = True


# --- more runs of the same apps (recorded through the Service API: the same events) ---------

#: Service API runs whose events are the inner API's (the Service API only frames them as
#: SSE and pings; its failing chatflow stream lacks the `error` event, so it is left out).
SERVICE_RUNS: dict[str, dict[str, Any]] = {
    "wf_stream_good_min": {"app_id": "workflow", "inputs": {"topic": "ducks"}, "response_mode": "streaming"},
    "wf_blocking_good": {
        "app_id": "workflow",
        "inputs": {"topic": "ducks", "style": "short"},
        "response_mode": "blocking",
    },
    "chat_blocking_new": {
        "app_id": "chatflow",
        "inputs": {"name": "Ada"},
        "query": "hello blocking",
        "response_mode": "blocking",
    },
    "wf_fail_blocking": {"app_id": "workflow_fails", "inputs": {"topic": "ducks"}, "response_mode": "blocking"},
}


def service_events(name: str) -> list[dict[str, Any]]:
    """The events of a recorded Service API answer: SSE `data:` lines (pings left out),
    or the one JSON body of a blocking call."""
    body = (RECORDED / "service-api" / f"{name}.body").read_text()
    if not body.lstrip().startswith(("event:", "data:")):
        return [json.loads(body)]
    found = [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]
    return [event for event in found if event.get("event") != "ping"]


@pytest.mark.parametrize("name", list(SERVICE_RUNS))
def test_recorded_service_api_run(name: str, backend: AppBackend, files: FileService) -> None:
    recorded = service_events(name)
    answer = replay(backend, files, name, {"user": "", **SERVICE_RUNS[name]})
    assert not isinstance(answer, AppCallError), answer.response_text()
    assert [e.get("event") for e in answer] == [e.get("event") for e in recorded]
    for got, want in zip(answer, recorded, strict=True):
        assert shape(got) == shape(want), f"{want.get('event')}: fields or types differ"
    assert streamed(answer) == streamed(recorded)
    OTHERS[f"service:{name}"] = True
