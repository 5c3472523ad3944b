"""A local stand-in for a real Dify 1.13.2 that answers with its recorded bytes.

`fixtures/real-dify-1.13.2/` holds what a real Dify API server answered (its README says
how it was recorded). This aiohttp server on 127.0.0.1 picks the recorded case a
request stands for and answers with that case's status, Content-Type and body byte for
byte: the Service API (`/v1/...`, app keys as `Authorization: Bearer`) and the inner API
(`/inner/api/...`, `X-Inner-Api-Key`). Streams are written chunk by chunk (one SSE event
or one length-prefixed frame per chunk). A case the real server kept open and silent
(`.time` of 300 s: a streamed request error on the Service API) is written and then held
open until the client goes away, as the real one did.

Two answers are not recorded and are made up from Dify's source, marked FABRICATED below:
`GET /v1/conversations?last_id=` (the bridge's conversation check) and
`POST /inner/api/upload/file/request` (the signed upload URL). Every request is kept in
`requests` so that tests can see what the devkit sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from support import FIXTURES

RECORDINGS = FIXTURES / "real-dify-1.13.2"
SERVICE = RECORDINGS / "service-api"
INNER = RECORDINGS / "inner-api"

#: The ids the recorded Dify gave its workspace and apps (from the recordings' bodies).
TENANT_ID = "cfbc4a25-0a58-4a4c-b201-01f2df7d154f"
APP_IDS = {
    "chatflow": "57028fda-92a2-4522-9451-6a623d73bbb2",
    "workflow": "420287d1-31cd-4388-b743-e9586cb84165",
    "workflow_fails": "2b1c7dcb-13f3-4a2c-8291-ba12fd652bc6",
    "chatflow_fails": "48ceb0b5-6648-41ee-b1b8-ff198d26c800",
    "workflow_file": "53fb5479-b667-491f-82c4-659cb43d9f6b",
}
#: The app keys this stand-in accepts, one per recorded app.
SERVICE_KEYS = {f"app-{name.replace('_', '-')}": name for name in APP_IDS}
#: An app whose form (GET /parameters) no longer says what its runs need: the bridge's
#: checks pass, and the run gets the recorded ping-and-silence (a request error the
#: bridge cannot foresee, e.g. a form changed between the two calls).
SERVICE_KEYS["app-unforeseen"] = "unforeseen"
INNER_KEY = "inner-api-key-for-tests"
#: The conversation the recorded Service API runs started (chat_stream_new, chat_blocking_new).
KNOWN_CONVERSATIONS = {"ef93deaa-16b2-441c-b7a3-ede0941576dd", "fa72f44e-84a8-4e22-9ba8-499946a94aff"}
INNER_KNOWN_CONVERSATIONS = {"413e4232-a6ca-45b4-bf16-3167fd02d01f", "bfab3b05-2af1-405d-a068-1c3a2d9a2233"}
UNKNOWN_CONVERSATION = "0b0e1c57-0000-4000-8000-000000000000"  # the unknown id the recordings used
#: A recorded answer that took longer than this was the server holding an idle stream open.
SILENT_AFTER = 60.0


@dataclass(frozen=True)
class Case:
    """One recorded answer: `NAME.headers`, `NAME.body`, `NAME.time`."""

    name: str
    status: int
    content_type: str
    body: bytes
    silent: bool  # the server sent this, then nothing until it closed the idle stream

    @classmethod
    def load(cls, folder: Path, name: str) -> Case:
        lines = (folder / f"{name}.headers").read_text().splitlines()
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        took = folder / f"{name}.time"
        silent = took.is_file() and float(took.read_text().strip().rstrip("s")) > SILENT_AFTER
        return cls(name, status, headers.get("Content-Type", ""), (folder / f"{name}.body").read_bytes(), silent)

    def chunks(self) -> list[bytes]:
        """The body as the server wrote it: one length-prefixed frame or one SSE event a
        chunk; joined, exactly the recorded bytes."""
        if self.body[:1] == b"\x0f":
            chunks, rest = [], self.body
            while rest:
                end = 4 + int.from_bytes(rest[2:4], "little") + int.from_bytes(rest[4:8], "little")
                chunks.append(rest[:end])
                rest = rest[end:]
        elif self.content_type.startswith("text/event-stream"):
            chunks = [part + b"\n\n" for part in self.body.split(b"\n\n") if part]
        else:
            chunks = [self.body]
        assert b"".join(chunks) == self.body, f"{self.name}: chunks are not the recorded bytes"
        return chunks

    def frames(self) -> list[dict[str, Any]]:
        """The `data` of each SSE event (a ping included) of a recorded Service API stream."""
        return [json.loads(chunk[len(b"data: ") :]) for chunk in self.chunks() if chunk.startswith(b"data: ")]


def service_case(name: str) -> Case:
    return Case.load(SERVICE, name)


def inner_case(name: str) -> Case:
    return Case.load(INNER, name)


def inner_frames(name: str) -> list[dict[str, Any]]:
    """The frames of a recorded inner-API answer (NAME.frames.jsonl)."""
    lines = (INNER / f"{name}.frames.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    form: dict[str, Any] | None = None  # a multipart upload: field -> text, or (filename, type, bytes)


@dataclass
class RecordedDify:
    """A Dify API server answering from the recordings, in a thread of its own."""

    requests: list[Seen] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.url}/v1"

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> RecordedDify:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            started.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True, name="recorded-dify").start()
        if not started.wait(30):
            raise RuntimeError("the recorded Dify did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        # handler_cancellation: a held-open stream ends when its client goes away
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        seen = await _record(request)
        self.requests.append(seen)
        if seen.path.startswith("/v1/"):
            found = _service(seen, self.url)
        elif seen.path.startswith("/inner/api/"):
            found = _inner(seen, self.url)
        elif seen.path == "/files/upload/for-plugin" and seen.form is not None:
            found = inner_case("plugin_file_upload")
        else:
            found = None
        if found is None:  # not Dify's answer: the test asked for a case nobody recorded
            return web.Response(status=501, text=f"no recording for {seen.method} {seen.path} {seen.json}")
        if isinstance(found, web.StreamResponse):
            return found
        return await _write(request, found)


async def _record(request: web.Request) -> Seen:
    body: Any = None
    form: dict[str, Any] | None = None
    if request.content_type == "multipart/form-data":
        form = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name:
                data = await part.read()
                filename = part.filename
                form[part.name] = (
                    (filename, part.headers.get("Content-Type"), bytes(data)) if filename else data.decode()
                )
    else:
        raw = await request.read()
        body = json.loads(raw) if raw else None
    headers = {name: request.headers[name] for name in ("Authorization", "X-Inner-Api-Key") if name in request.headers}
    return Seen(request.method, request.path, dict(request.query), headers, body, form)


async def _write(request: web.Request, case: Case) -> web.StreamResponse:
    response = web.StreamResponse(status=case.status, headers={"Content-Type": case.content_type})
    chunks = case.chunks()
    if len(chunks) == 1 and not case.silent:
        response.content_length = len(case.body)
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    if case.silent:
        await asyncio.sleep(3600)  # held open, idle; cancelled when the client goes away
    await response.write_eof()
    return response


def _json(status: int, value: Mapping[str, Any]) -> web.Response:
    text = json.dumps(value, separators=(",", ":")).replace("/", "\\/") + "\n"
    return web.Response(status=status, text=text, content_type="application/json")


# --- the Service API ----------------------------------------------------------------------


def _service(seen: Seen, base: str) -> Case | web.StreamResponse | None:
    authorization = seen.headers.get("Authorization", "")
    if not authorization.startswith("Bearer "):
        return service_case("no_key")
    app = SERVICE_KEYS.get(authorization.removeprefix("Bearer "))
    if app is None:
        return service_case("bad_key")
    path, body = seen.path.removeprefix("/v1"), seen.json if isinstance(seen.json, dict) else {}
    if seen.method == "GET" and path == "/info" and app in ("chatflow", "workflow"):
        return service_case(f"info_{app}")
    if seen.method == "GET" and path == "/parameters":
        # the failing apps' forms were not recorded: they are the chatflow's and the workflow's
        form = {"chatflow_fails": "chatflow", "workflow_fails": "workflow", "unforeseen": "chatflow"}.get(app, app)
        return service_case(f"params_{form}")
    if seen.method == "GET" and path == "/conversations":
        return _conversations(seen.query)
    if seen.method == "POST" and path == "/files/upload" and app == "workflow_file":
        return service_case("file_upload")
    if seen.method != "POST":
        return None
    streaming = body.get("response_mode") == "streaming"
    if path == "/chat-messages" and app == "chatflow":
        return service_case(_chat_case(body, streaming))
    if path == "/chat-messages" and app == "chatflow_fails":
        return service_case("chat_fail_stream" if streaming else "chat_fail_blocking")
    if path == "/workflows/run" and app == "workflow":
        return service_case(_workflow_case(body, streaming))
    if path == "/workflows/run" and app == "unforeseen":
        return service_case("wf_missing_required_stream" if streaming else "wf_missing_required_blocking")
    if path == "/workflows/run" and app == "workflow_fails":
        return service_case("wf_fail_stream" if streaming else "wf_fail_blocking")
    if path == "/workflows/run" and app == "workflow_file":
        document = (body.get("inputs") or {}).get("document")
        if not document:
            return service_case("wf_file_missing")
        if not isinstance(document, dict):
            return service_case("wf_file_string")
        if document.get("transfer_method") == "tool_file":
            return service_case("wf_file_tool_file")
        return service_case("wf_file_local_stream" if streaming else "wf_file_local_blocking")
    return None


def _chat_case(body: Mapping[str, Any], streaming: bool) -> str:
    conversation = body.get("conversation_id")
    if conversation == UNKNOWN_CONVERSATION:
        return "chat_unknown_conv_stream" if streaming else "chat_unknown_conv_blocking"
    if conversation and conversation not in KNOWN_CONVERSATIONS:
        return "chat_bad_conv_format"
    if conversation:
        return "chat_stream_followup" if streaming else "chat_blocking_followup"
    return "chat_stream_new" if streaming else "chat_blocking_new"


def _workflow_case(body: Mapping[str, Any], streaming: bool) -> str:
    inputs = body.get("inputs") or {}
    if "topic" not in inputs:
        return "wf_missing_required_stream" if streaming else "wf_missing_required_blocking"
    if inputs.get("style") not in (None, "short", "long"):
        return "wf_bad_select"
    return "wf_stream_good" if streaming else "wf_blocking_good"


def _conversations(query: Mapping[str, str]) -> web.Response:
    """FABRICATED (not recorded): `GET /v1/conversations?last_id=...` as Dify's
    ConversationApi answers it: the page after `last_id`, or 404 "Last Conversation Not
    Exists." (ConversationService.pagination_by_last_id) when the user has no such one."""
    if query.get("last_id") in KNOWN_CONVERSATIONS:
        return _json(200, {"limit": int(query.get("limit", 20)), "has_more": False, "data": []})
    return _json(404, {"code": "not_found", "message": "Last Conversation Not Exists.", "status": 404})


# --- the inner API ------------------------------------------------------------------------


def _inner(seen: Seen, base: str) -> Case | web.StreamResponse | None:
    if seen.headers.get("X-Inner-Api-Key") != INNER_KEY:
        return inner_case("inner_bad_key")
    body = seen.json if isinstance(seen.json, dict) else {}
    path = seen.path.removeprefix("/inner/api")
    app = next((name for name, app_id in APP_IDS.items() if app_id == body.get("app_id")), None)
    if path == "/fetch/app/info":
        return inner_case(f"inner_fetch_app_{app}" if app in ("chatflow", "workflow") else "inner_fetch_app_unknown")
    if path == "/upload/file/request":
        # FABRICATED (not recorded): PluginUploadFileRequestApi answers the signed URL of
        # `/files/upload/for-plugin` (get_signed_file_url_for_plugin) in Dify's envelope
        url = f"{base}/files/upload/for-plugin?timestamp=1796457901&nonce=n&sign=s&tenant_id={body.get('tenant_id')}"
        return _json(200, {"data": {"url": url}, "error": ""})
    if path != "/invoke/app":
        return None
    streaming = body.get("response_mode") == "streaming"
    conversation = body.get("conversation_id")
    if app is None:
        return inner_case("inner_unknown_app")
    if app == "chatflow":
        if conversation == UNKNOWN_CONVERSATION:
            return inner_case("inner_chat_unknown_conv_stream" if streaming else "inner_chat_unknown_conv_blocking")
        if conversation and conversation not in INNER_KNOWN_CONVERSATIONS:
            return inner_case("inner_chat_bad_conv_format")
        if not body.get("query"):
            return inner_case("inner_chat_missing_query")
        if conversation:
            return inner_case("inner_chat_stream_followup")
        return inner_case("inner_chat_stream_new" if streaming else "inner_chat_blocking")
    if app == "chatflow_fails":
        return inner_case("inner_chat_fail_stream" if streaming else "inner_chat_fail_blocking")
    if app == "workflow_fails":
        return inner_case("inner_wf_fail_stream" if streaming else "inner_wf_fail_blocking")
    if app == "workflow_file":
        return inner_case("inner_wf_file_tool_file")
    inputs = body.get("inputs") or {}
    if "topic" not in inputs:
        return inner_case("inner_wf_missing_required_stream" if streaming else "inner_wf_missing_required_blocking")
    if inputs.get("style") not in (None, "short", "long"):
        return inner_case("inner_wf_bad_select")
    return inner_case("inner_wf_stream_good" if streaming else "inner_wf_blocking_good")
