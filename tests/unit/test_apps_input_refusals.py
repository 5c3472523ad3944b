"""provider.apps: which of Dify's 4xx answers are the caller's to fix (invalid_inputs 400, Dify's
words passed on) and which are the app's failure (app_failed 502, Dify's words in the log only)."""

from __future__ import annotations

import json

import pytest

from provider.apps import AppCall
from tests.unit.fakes import FakeAppInterface, fake_session


def failure_of(message: str, status: int = 400) -> tuple[int, str, str]:
    text = "invoke app failed: request failed with status code: {} and respond with: {}".format(
        status, json.dumps({"code": "invalid_param", "message": message, "status": status})
    )
    call = AppCall(fake_session(workflow=FakeAppInterface()), kind="workflow", setting="workflow_app", app_id="a")
    failure = call.failure(Exception(text))
    return failure.status, failure.code, failure.message


@pytest.mark.parametrize(
    "message",
    [
        "topic is required in input form",  # recorded: inner_wf_missing_required_*
        "style in input form must be one of the following: ['short', 'long']",  # recorded: inner_wf_bad_select
        "topic in input form must be less than 100 characters",
        "(type 'text-input') topic in input form must be a string",
        "count in input form must be a valid number",
        "document in input form must be a file",
        "transfer_method is required in file mapping",
        "No matching enum found for value 'ftp'",
        "ToolFile 6b1d-not-there not found",
        "ToolFile None not found",
        "Invalid upload file id",
        "'sheet' is not a valid FileType",
        "Detected file type does not match the specified type. Please verify the file.",
        "File validation failed for file: a.exe",
        "Invalid input type",
    ],
)
def test_difys_refusals_of_the_inputs_are_the_callers_to_fix(message: str) -> None:
    assert failure_of(message) == (400, "invalid_inputs", f"The app rejected the request: {message}")


@pytest.mark.parametrize(
    "message",
    [
        # recorded: inner_basic_stream (the chat app's model could not be reached); names the tenant
        "Failed to request plugin daemon, url: plugin/cfbc4a25-0a58-4a4c-b201-01f2df7d154f/management/models",
        "Run failed: Failed to execute code, which is likely a network issue",  # inner_chat_fail_blocking
        "Agent Chat App does not support blocking mode",
        "Workflow not initialized",
    ],
)
def test_other_4xx_are_the_apps_failure_and_stay_in_the_log(message: str) -> None:
    assert failure_of(message) == (502, "app_failed", "The app could not be run.")
