"""provider.apps.run_outputs / workflow_outputs: a blocking workflow run's outputs, or AppFailed.

The envelopes are the SDK's view of what Dify 1.13.2 answered (the `data` of the one
frame of shared/real-dify-1.13.2/inner-api/inner_wf_blocking_good.frames.jsonl and
inner_wf_fail_blocking.frames.jsonl), copied here field for field.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from provider.apps import AppCall, RunEnd, run_outputs, workflow_outputs
from provider.errors import AppFailed
from tests.unit.fakes import FakeAppInterface, fake_session

SANDBOX_ERROR = (
    "Failed to execute code, which is likely a network issue, please check if the sandbox service is running. "
    "( Error: [Errno 111] Connection refused )"
)
#: inner_wf_blocking_good: HTTP 200, status "succeeded".
SUCCEEDED: dict[str, Any] = {
    "task_id": "1670ee9b-e9da-4cfe-8d65-261bd21679e3",
    "workflow_run_id": "5a483117-5d4f-4964-b6d6-0640c41cd967",
    "data": {
        "id": "5a483117-5d4f-4964-b6d6-0640c41cd967", "workflow_id": "38920757-768a-4fbc-a175-5b7a2294bc54",
        "status": "succeeded", "outputs": {"text": None, "topic": "ducks", "style": "short"}, "error": None,
        "elapsed_time": 0.063361, "total_tokens": 0, "total_steps": 4, "created_at": 1796457218,
        "finished_at": 1796457218,
    },
}  # fmt: skip
#: inner_wf_fail_blocking: HTTP 200 as well, status "failed", empty outputs, the error text.
FAILED: dict[str, Any] = {
    "task_id": "741e29da-090d-4849-9a0e-8be3e7448197",
    "workflow_run_id": "2f7691f0-57cd-48e4-b9f7-23d10b201db3",
    "data": {
        "id": "2f7691f0-57cd-48e4-b9f7-23d10b201db3", "workflow_id": "34b11b90-94bc-4d53-b197-fd4c586d5808",
        "status": "failed", "outputs": {}, "error": SANDBOX_ERROR, "elapsed_time": 0.025215, "total_tokens": 0,
        "total_steps": 2, "created_at": 1796457218, "finished_at": 1796457218,
    },
}  # fmt: skip


def test_a_succeeded_run_gives_its_outputs_not_the_envelope() -> None:
    assert run_outputs(SUCCEEDED) == {"text": None, "topic": "ducks", "style": "short"}


def test_a_partially_succeeded_run_gives_its_outputs_too() -> None:
    partial = SUCCEEDED | {"data": SUCCEEDED["data"] | {"status": "partial-succeeded", "outputs": {"a": 1}}}
    assert run_outputs(partial) == {"a": 1}


def test_a_failed_run_is_app_failed_and_its_error_text_stays_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(AppFailed) as raised:
        run_outputs(FAILED, "workflow_app")
    error = raised.value
    assert (error.status, error.code) == (502, "workflow_failed")
    assert "2f7691f0-57cd-48e4-b9f7-23d10b201db3" in error.message
    assert "`workflow_app`" in error.message
    assert "'failed'" in error.message
    assert "sandbox" not in error.message
    assert SANDBOX_ERROR in caplog.text


@pytest.mark.parametrize("status", ["stopped", "paused", "running"])
def test_a_run_that_did_not_finish_well_is_app_failed(status: str) -> None:
    with pytest.raises(AppFailed) as raised:
        run_outputs(SUCCEEDED | {"data": SUCCEEDED["data"] | {"status": status}})
    assert raised.value.code == "workflow_failed"


@pytest.mark.parametrize(
    "answer", [{}, {"answer": "hi", "conversation_id": "c"}, {"data": "x"}, {"data": {"outputs": {"a": 1}}}]
)
def test_an_answer_of_another_shape_is_app_failed(answer: dict[str, Any]) -> None:
    with pytest.raises(AppFailed) as raised:
        run_outputs(answer)
    assert (raised.value.status, raised.value.code) == (502, "app_failed")


def test_missing_outputs_on_success_are_empty() -> None:
    assert run_outputs(SUCCEEDED | {"data": SUCCEEDED["data"] | {"outputs": None}}) == {}


def test_workflow_outputs_runs_the_app_blocking_and_maps_the_answer() -> None:
    interface = FakeAppInterface(result=SUCCEEDED)
    call = AppCall(
        fake_session(workflow=interface), kind="workflow", setting="orders_app", app_id="app-1", inputs={"n": 1}
    )
    assert workflow_outputs(call) == SUCCEEDED["data"]["outputs"]
    assert [c["response_mode"] for c in interface.calls] == ["blocking"]
    assert interface.calls[0]["inputs"] == {"n": 1}
    failing = AppCall(
        fake_session(workflow=FakeAppInterface(result=FAILED)), kind="workflow", setting="orders_app", app_id="a"
    )
    with pytest.raises(AppFailed) as raised:
        workflow_outputs(failing)
    assert "`orders_app`" in raised.value.message


def test_workflow_outputs_refuses_a_call_of_another_kind() -> None:
    with pytest.raises(ValueError, match="workflow"):
        workflow_outputs(AppCall(fake_session(), kind="chat", setting="chat_app", app_id="a"))


# -- RunEnd: the same status rule for a streamed `workflow_finished` -------------------
@pytest.mark.parametrize(
    ("data", "usable", "status", "error"),
    [
        (SUCCEEDED["data"], True, "succeeded", None),
        (SUCCEEDED["data"] | {"status": "partial-succeeded"}, True, "partial-succeeded", None),
        (FAILED["data"], False, "failed", SANDBOX_ERROR),
        ({"status": "stopped", "error": ""}, False, "stopped", None),
        ({"status": None, "outputs": {"text": "x"}}, False, "", None),  # no status: nothing to trust
        ({"outputs": {"text": "x"}}, False, "", None),
        ("not a mapping", False, "", None),
        (None, False, "", None),
    ],
)
def test_run_end_reads_status_error_and_outputs(data: object, usable: bool, status: str, error: str | None) -> None:
    end = RunEnd.of(data)
    assert (end.usable, end.status, end.error) == (usable, status, error)


def test_run_end_outputs_are_a_copy_and_only_a_mapping() -> None:
    data = {"status": "succeeded", "outputs": {"a": 1}}
    end = RunEnd.of(data)
    data["outputs"]["a"] = 2
    assert end.outputs == {"a": 1}
    assert RunEnd.of({"status": "succeeded", "outputs": ["a"]}).outputs == {}
