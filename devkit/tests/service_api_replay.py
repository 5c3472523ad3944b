"""A local stand-in for Dify's Service API that replays transcripts, pacing included.

Each transcript (YAML, `fixtures/service_api/`) is one app of a Dify workspace. An
answer is either a recorded one of the real Dify 1.13.2 (`recorded: NAME`:
fixtures/real-dify-1.13.2/service-api/NAME.*, served byte for byte, one SSE event a
chunk, `pace` seconds apart; a case the real server held open and silent is held open)
or written out where no recording exists (runs that need a model, broken connections):

    api_key: app-test-chat             # the app key this Dify accepts for the app
    exchanges:                          # first match wins
      - request: {method: POST, path: /chat-messages, json: {response_mode: streaming}}
        response:
          status: 200
          sse:                          # written as Dify writes its stream
            - {after: 0.0, event: ping}             # `event: ping\\n\\n`
            - {after: 0.05, data: {event: message}}  # `data: <compact json>\\n\\n`, 50 ms later
            - {after: 0.05, cut: true}               # the connection drops mid-body
      - request: {method: GET, path: /parameters}
        response: {recorded: params_workflow}        # the real Dify's answer
      - request: {method: GET, path: /conversations, query: {last_id: ...}}
        response: {status: 404, json: {...}}         # compact, `\\/` escaped, a newline (Dify's errors)

`json` (`query`) in a request matches when every named key has that value in the request
body (query string); null: absent. A key no transcript has is answered as the recorded
Dify answered one (`bad_key`: 401). Each request is recorded (method, path, JSON body, Authorization
header) so that tests can see what the devkit sent. A real HTTP/1.1 server (chunked,
flushed frame by frame, sleeping `after` seconds before each frame) in a thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from recorded_dify import Case, service_case

#: The Service API prefix a Dify serves (https://api.dify.ai/v1, http://<host>/v1).
PREFIX = "/v1"


def dify_json_text(value: Any) -> str:
    """A JSON answer as Dify's error handler writes it: compact, `/` escaped, a newline."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/") + "\n"


def sse_data(value: Any) -> str:
    """One SSE event as Dify writes it (recorded: compact, not ASCII-escaped)."""
    return f"data: {json.dumps(value, separators=(',', ':'), ensure_ascii=False)}\n\n"


@dataclass
class Transcript:
    api_key: str
    exchanges: list[dict[str, Any]]
    path: Path

    @classmethod
    def load(cls, path: Path) -> Transcript:
        raw = yaml.safe_load(path.read_text())
        return cls(raw["api_key"], raw["exchanges"], path)

    def answer(
        self, method: str, path: str, body: Any, query: Mapping[str, str] | None = None
    ) -> dict[str, Any] | None:
        for exchange in self.exchanges:
            wanted = exchange["request"]
            if wanted["method"] != method or wanted["path"] != path:
                continue
            if not all(_value(body, key) == value for key, value in (wanted.get("json") or {}).items()):
                continue
            if all(_value(dict(query or {}), key) == value for key, value in (wanted.get("query") or {}).items()):
                return exchange["response"]
        return None

    def frames(self, method: str, path: str, json_match: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The `data` objects the exchange for this request streams (what a test expects)."""
        response = self.answer(method, path, dict(json_match or {}))
        assert response is not None, f"{self.path}: no exchange for {method} {path} {json_match}"
        if "recorded" in response:
            return service_case(response["recorded"]).frames()
        return [frame["data"] for frame in response.get("sse", []) if "data" in frame]

    def response(self, method: str, path: str, json_match: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The exchange's answer; a recorded one as `{status, json, text}` (its exact body)."""
        response = self.answer(method, path, dict(json_match or {}))
        assert response is not None, f"{self.path}: no exchange for {method} {path} {json_match}"
        if "recorded" in response:
            case = service_case(response["recorded"])
            return {"status": case.status, "json": json.loads(case.body), "text": case.body.decode()}
        return response


def _value(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    json: Any
    query: str


@dataclass
class ReplayServer:
    """The Service API of one Dify, answering for the apps of `transcripts`."""

    transcripts: list[Transcript]
    requests: list[Recorded] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @classmethod
    def of(cls, paths: Iterable[Path]) -> ReplayServer:
        return cls([Transcript.load(path) for path in paths])

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    def start(self) -> ReplayServer:
        replay = self

        class Handler(_Handler):
            server_side = replay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def seen(self, path: str) -> list[Recorded]:
        """The requests received for `path` (without the /v1 prefix), oldest first."""
        return [r for r in self.requests if r.path == path]

    def app_for(self, authorization: str | None) -> Transcript | None:
        for transcript in self.transcripts:
            if authorization == f"Bearer {transcript.api_key}":
                return transcript
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_side: ReplayServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `requests`, not a log."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        authorization = self.headers.get("Authorization")
        path = url.path.removeprefix(PREFIX)
        replay = self.server_side
        replay.requests.append(Recorded(self.command, path, authorization, body, url.query))
        app = replay.app_for(authorization)
        if app is None:
            self._recorded(service_case("bad_key" if authorization else "no_key"), 0.0)
            return
        response = app.answer(self.command, path, body, dict(parse_qsl(url.query)))
        if response is None:
            # not Dify's: a transcript is missing an exchange the test relies on
            self._json(501, {"replay": f"{app.path.name} has no exchange for {self.command} {path} {body}"})
            return
        if "recorded" in response:
            self._recorded(service_case(response["recorded"]), float(response.get("pace", 0.0)))
        elif "sse" in response:
            self._stream(response)
        elif "json" in response:
            self._json(response["status"], response["json"], response.get("headers"))
        else:
            self._raw(response["status"], response["text"], response.get("content_type", "text/html"))

    def _json(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
        data = dify_json_text(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, header in (headers or {}).items():
            self.send_header(name, header)
        self.end_headers()
        self.wfile.write(data)

    def _raw(self, status: int, text: str, content_type: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, response: Mapping[str, Any]) -> None:
        """Dify's SSE answer, one chunk per frame, each after its recorded pause."""
        self.send_response(response["status"])
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()
        try:
            for frame in response["sse"]:
                time.sleep(float(frame.get("after", 0)))
                if frame.get("cut"):
                    self.close_connection = True
                    self.wfile.write(b"5\r\ndata:")  # part of a chunk, then nothing
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                if "data" in frame:
                    text = sse_data(frame["data"])
                else:
                    text = f"event: {frame['event']}\n\n"
                data = text.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the devkit stopped reading (its stream cap)

    def _recorded(self, case: Case, pace: float) -> None:
        """A recorded answer byte for byte; a stream one event a chunk, `pace` s apart; a
        case the real Dify held open silently (a refused streamed call) held open until
        the client goes away or the server stops."""
        chunked = case.content_type.startswith("text/event-stream")
        self.send_response(case.status)
        self.send_header("Content-Type", case.content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(case.body)))
        self.end_headers()
        if not chunked:
            self.wfile.write(case.body)
            return
        try:
            for index, chunk in enumerate(case.chunks()):
                if index:
                    time.sleep(pace)
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            if case.silent:
                self.close_connection = True
                self.connection.settimeout(0.2)
                while not self.server_side.stopping.is_set():
                    try:  # a read returns b"" (or fails) once the client has gone
                        if self.connection.recv(1) == b"":
                            return
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
