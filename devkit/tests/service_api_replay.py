"""A local stand-in for Dify's Service API that replays transcripts, pacing included.

Each transcript (YAML, `fixtures/service_api/`) is one app of a Dify workspace:

    api_key: app-test-chat             # the app key this Dify accepts for the app
    exchanges:                          # first match wins
      - request: {method: POST, path: /chat-messages, json: {response_mode: streaming}}
        response:
          status: 200
          sse:                          # written as Dify writes its stream
            - {after: 0.0, event: ping}             # `event: ping\\n\\n`
            - {after: 0.05, data: {event: message}}  # `data: <json>\\n\\n`, 50 ms later
            - {after: 0.05, cut: true}               # the connection drops mid-body
      - request: {method: GET, path: /parameters}
        response: {status: 200, json: {...}}         # `json.dumps(...) + "\\n"`, as flask-restx

`json` in a request matches when every named key has that value in the request body
(null: absent). Requests are answered like Dify does when nothing matches the key: 401
with Dify's body. Each request is recorded (method, path, JSON body, Authorization
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
from urllib.parse import urlsplit

import yaml

#: The Service API prefix a Dify serves (https://api.dify.ai/v1, http://<host>/v1).
PREFIX = "/v1"
UNAUTHORIZED = {"code": "unauthorized", "message": "Access token is invalid", "status": 401}


@dataclass
class Transcript:
    api_key: str
    exchanges: list[dict[str, Any]]
    path: Path

    @classmethod
    def load(cls, path: Path) -> Transcript:
        raw = yaml.safe_load(path.read_text())
        return cls(raw["api_key"], raw["exchanges"], path)

    def answer(self, method: str, path: str, body: Any) -> dict[str, Any] | None:
        for exchange in self.exchanges:
            wanted = exchange["request"]
            if wanted["method"] != method or wanted["path"] != path:
                continue
            if all(_value(body, key) == value for key, value in (wanted.get("json") or {}).items()):
                return exchange["response"]
        return None

    def frames(self, method: str, path: str, json_match: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The `data` objects the exchange for this request streams (what a test expects)."""
        response = self.answer(method, path, dict(json_match or {}))
        assert response is not None, f"{self.path}: no exchange for {method} {path} {json_match}"
        return [frame["data"] for frame in response.get("sse", []) if "data" in frame]

    def response(self, method: str, path: str, json_match: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self.answer(method, path, dict(json_match or {}))
        assert response is not None, f"{self.path}: no exchange for {method} {path} {json_match}"
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
            self._json(401, UNAUTHORIZED, {"WWW-Authenticate": 'Bearer realm="api"'})
            return
        response = app.answer(self.command, path, body)
        if response is None:
            # not Dify's: a transcript is missing an exchange the test relies on
            self._json(501, {"replay": f"{app.path.name} has no exchange for {self.command} {path} {body}"})
            return
        if "sse" in response:
            self._stream(response)
        elif "json" in response:
            self._json(response["status"], response["json"], response.get("headers"))
        else:
            self._raw(response["status"], response["text"], response.get("content_type", "text/html"))

    def _json(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
        data = (json.dumps(value) + "\n").encode()
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
                    text = f"data: {json.dumps(frame['data'])}\n\n"
                else:
                    text = f"event: {frame['event']}\n\n"
                data = text.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the devkit stopped reading (its stream cap)
