"""Helpers of the demo app backend's unit tests (async, no subprocess)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from dify_plugin_devkit._apps import AppBackend, AppCallError, AppSpec
from dify_plugin_devkit._apps.dify import QUIRKS, DifyBehaviour

Event = dict[str, Any]


def app(**fields: Any) -> AppSpec:
    """An app spec with test defaults (no delays, so the tests stay fast)."""
    fields.setdefault("name", fields["id"])
    return AppSpec.model_validate(fields)


#: A later Dify that runs completion apps for plugins: the tests of the completion
#: generator's shapes use it (Dify 1.13.2 answers every such call 500: test_apps_quirks.py).
COMPLETION_WORKS = DifyBehaviour(quirks={**dict.fromkeys(QUIRKS, True), "completion_from_plugin_fails": False})


def backend(*apps: AppSpec, **options: Any) -> AppBackend:
    options.setdefault("dify", COMPLETION_WORKS)
    return AppBackend(apps, **options)


def chat_request(app_id: str | None, query: str | None, mode: str = "streaming", **extra: Any) -> dict[str, Any]:
    """What the SDK's chat interface sends."""
    request = {
        "app_id": app_id,
        "query": query,
        "inputs": {},
        "response_mode": mode,
        "conversation_id": None,
        "user": "someone",
    }
    return {**request, **extra}


def flow_request(app_id: str, inputs: Mapping[str, Any] | None = None, mode: str = "streaming") -> dict[str, Any]:
    """What the SDK's workflow and completion interfaces send (no `query` key)."""
    return {"app_id": app_id, "inputs": dict(inputs or {}), "response_mode": mode, "user": "someone"}


async def drain(stream: AsyncIterator[Event], sink: list[Event]) -> None:
    async for event in stream:
        sink.append(event)


def collect(b: AppBackend, request: Mapping[str, Any]) -> list[Event]:
    """All events of one call."""
    events: list[Event] = []
    asyncio.run(drain(b.invoke(request), events))
    return events


def collect_failure(b: AppBackend, request: Mapping[str, Any]) -> tuple[list[Event], AppCallError]:
    """The events a call yielded before it raised, and what it raised."""
    events: list[Event] = []
    with pytest.raises(AppCallError) as caught:
        asyncio.run(drain(b.invoke(request), events))
    return events, caught.value


def kinds(events: list[Event]) -> list[str]:
    return [e["event"] for e in events]


def deltas(events: list[Event], kind: str = "message") -> str:
    return "".join(e["answer"] for e in events if e["event"] == kind)


def of_kind(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["event"] == kind]


@dataclass(frozen=True)
class StoredFile:
    """What the devkit's file store answers for an uploaded file (the lookup's result)."""

    name: str
    mime_type: str
    size: int
    extension: str


def tool_file(file_id: str, file_type: str | None = None) -> dict[str, Any]:
    """An app input as `UploadFileResponse.to_app_parameter()` gives it."""
    mapping = {"tool_file_id": file_id, "transfer_method": "tool_file"}
    if file_type is not None:
        mapping["type"] = file_type
    return mapping
