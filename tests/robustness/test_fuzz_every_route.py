"""Whatever arrives on any route, the answer is well-formed HTTP, a 4xx for a client's
mistake, a 5xx only when the app itself failed, never a traceback or the daemon's
words, never the api_key, and the plugin process lives on.

Every request is drawn whole: method, path (real routes and near misses), endpoint
instance (open, with an api_key, with failing apps, with a missing app), headers
(content types, auth, Last-Event-ID, encodings), raw query string (invalid percent
escapes, NUL, invalid UTF-8) and body (JSON of every shape, deep nesting, huge strings,
NUL bytes, invalid UTF-8, form and multipart garbage).

`make test` runs it derandomised and small (FUZZ_EXAMPLES, default 40 per install
method); `make fuzz` runs it random and long (HYPOTHESIS_PROFILE=random, its failures
kept in tests/robustness/hypothesis-db so that they come back as regression examples).
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections import Counter
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness.conftest import Robust
from tests.robustness.support import SECRET, leaks_in, plugin_log_lines, secret_in_response

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
ROUTES = ("/duck", "/workflow", "/completion", "/v1/models", "/v1/models/chat", "/v1/chat/completions")
ROUTES = (*ROUTES, "/mcp")  # the MCP exhibit (gallery/mcp): JSON-RPC bodies and headers below
#: Endpoint instances whose apps fail or are missing: a 5xx from them is the app's failure.
APP_FAILURE_HOOKS = frozenset({"failing", "missing"})
APP_FAILURE_STATUSES = frozenset({502, 503, 504})

TEXT = st.text(max_size=40)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
FIELD_NAMES = (
    "inputs",
    "response_mode",
    "user",
    "query",
    "conversation_id",
    "key",
    "topic",
    "name",
    "model",
    "messages",
)
PLAUSIBLE = st.fixed_dictionaries(
    {},
    optional={
        "inputs": st.one_of(
            st.fixed_dictionaries({}, optional={"topic": TEXT, "name": TEXT}), st.dictionaries(TEXT, JSON_VALUE)
        ),
        "response_mode": st.sampled_from(["blocking", "streaming", "Blocking", ""]) | JSON_VALUE,
        "user": TEXT | JSON_VALUE,
        "query": TEXT | JSON_VALUE,
        "conversation_id": st.uuids().map(str) | TEXT,
    },
)
DEEP = st.integers(1, 60_000).flatmap(
    lambda n: st.sampled_from(
        [
            b"[" * n + b"]" * n,
            b'{"inputs": ' + b'{"a": ' * n + b"1" + b"}" * n + b"}",
            b"[" * n,  # deep and unclosed
            b'{"query": "' + b"[" * n + b'"}',
        ]
    )
)
HUGE = st.tuples(st.sampled_from(["query", "user", "inputs", "conversation_id", "x"]), st.integers(1, 1_200_000)).map(
    lambda f: json.dumps({f[0]: "q" * f[1]} if f[0] != "inputs" else {"inputs": {"topic": "t" * f[1]}}).encode()
)
NUL = st.sampled_from(
    [b"\x00", b'{"query": "a\\u0000b"}', b'{"query": "a\x00b"}', b"query=a%00b", b'{"inputs": {"\\u0000": 1}}']
)
INVALID_UTF8 = st.sampled_from(
    [b'{"query": "\xff\xfe"}', b"\xc3\x28", b"query=\xed\xa0\x80", b"\xef\xbb\xbf{}"]
) | st.binary(max_size=256)
FORM = st.lists(st.tuples(st.sampled_from(FIELD_NAMES) | TEXT, TEXT), max_size=5).map(
    lambda pairs: urllib.parse.urlencode(pairs).encode()
) | st.sampled_from([b"query=%zz", b"query=%ff%fe", b"&&==&", b"query"])
MULTIPART = st.tuples(
    st.sampled_from(["b", "x", ""]), st.sampled_from(FIELD_NAMES), st.binary(max_size=64), st.booleans()
).map(
    lambda m: (
        f'--{m[0]}\r\nContent-Disposition: form-data; name="{m[1]}"\r\n\r\n'.encode()
        + m[2]
        + (f"\r\n--{m[0]}--\r\n".encode() if m[3] else b"")
    )
)
# OpenAI chat requests (/v1/chat/completions): odd models, roles and content parts,
# stream flags of every type, and message lists past the route's bounds
_PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": TEXT})}),
    st.dictionaries(st.sampled_from(["type", "text", "image_url", "input_audio"]), JSON_VALUE, max_size=3),
)
_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool", "function", "robot", ""])
        | JSON_VALUE,
        "content": TEXT | st.lists(_PART, max_size=3) | JSON_VALUE,
        "name": TEXT,
    },
)
OPENAI = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["chat", "workflow", "completion", "gpt-4o", ""]) | JSON_VALUE,
        "messages": st.lists(_MESSAGE, max_size=6) | JSON_VALUE,
        "stream": st.booleans() | JSON_VALUE,
        "stream_options": st.fixed_dictionaries({"include_usage": st.booleans() | JSON_VALUE}) | JSON_VALUE,
        "n": st.integers(-2, 3) | JSON_VALUE,
        "inputs": st.dictionaries(TEXT, JSON_VALUE, max_size=3) | JSON_VALUE,
    },
).map(lambda v: json.dumps(v).encode())
OPENAI_HUGE = st.integers(900, 3000).map(
    lambda n: json.dumps({"model": "chat", "messages": [{"role": "user", "content": "x"}] * n}).encode()
)
BODY = st.one_of(
    st.just(b""),
    OPENAI,
    OPENAI_HUGE,
    PLAUSIBLE.map(lambda v: json.dumps(v).encode()),
    JSON_VALUE.map(lambda v: json.dumps(v).encode()),
    DEEP,
    HUGE,
    NUL,
    INVALID_UTF8,
    FORM,
    MULTIPART,
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=nonsense",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "multipart/form-data",
        "text/plain",
        "text/html",
        "application/xml",
        "*/*",
        ";;;",
    ]
)
# Header values: UTF-8 text, sometimes Latin-1 bytes (which the daemon passes on and the SDK refuses)
_UTF8_VALUE = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=60).map(str.encode)
_LATIN1_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=20)
# Header values: UTF-8 text; one in ten Latin-1 bytes (the daemon passes them on, the SDK refuses them)
HEADER_VALUE = st.integers(0, 9).flatmap(
    lambda i: _LATIN1_VALUE.map(lambda v: v.encode("latin-1")) if i == 0 else _UTF8_VALUE
)
AUTHORIZATION = st.sampled_from(
    [None, b"Bearer ", b"Bearer wrong", b"bearer x", b"Basic Zm9vOmJhcg==", f"Bearer {SECRET}".encode()]
) | HEADER_VALUE.map(lambda v: b"Bearer " + v)
EXTRA_HEADERS = st.dictionaries(
    st.sampled_from(["Accept", "Last-Event-ID", "Content-Encoding", "Cookie", "X-Forwarded-For", "Origin", "X-Fuzz"]),
    HEADER_VALUE,
    max_size=3,
)
QUERY_PAIRS = st.lists(
    st.tuples(st.sampled_from(FIELD_NAMES) | TEXT, TEXT | st.sampled_from(["%ff", "%00", "%zz", "\x00", "{}", "[]"])),
    max_size=5,
)
RAW_QUERY = QUERY_PAIRS.map(lambda pairs: urllib.parse.urlencode(pairs)) | st.sampled_from(
    ["", "query=%ff%fe", "query=%00", "inputs=%7B", "inputs=%5B%5D", "query=%zz&&=", "=", "query=" + "a" * 20_000]
)
PATH = st.sampled_from(ROUTES) | st.sampled_from(
    [
        "",
        "/",
        "/duck/",
        "/workflow/x",
        "//duck",
        "/Duck",
        "/duck%00",
        "/%2e%2e/workflow",
        "/completion;x",
        "/%ff",
        "/v1",
        "/v1/",
        "/v1/models/",
        "/v1/models/%ff",
        "/v1/models/a/b",
        "/v1/chat/completions/",
        "/V1/models",
    ]
)
METHOD = st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"])
HOOK = st.sampled_from(["open", "open", "locked", "failing", "missing"])


# MCP (/mcp): JSON-RPC messages of every shape (batches, missing ids, wrong types, the
# 2026-07-28 envelope right and wrong) and its routing headers, matching the body or not.
MCP_VERSION = st.sampled_from(["2026-07-28", "2025-11-25", "2025-06-18", "2024-11-05", ""]) | TEXT
MCP_META = st.fixed_dictionaries(
    {},
    optional={
        "io.modelcontextprotocol/protocolVersion": MCP_VERSION | JSON_VALUE,
        "io.modelcontextprotocol/clientCapabilities": st.just({}) | JSON_VALUE,
        "progressToken": st.integers() | TEXT | JSON_VALUE,
    },
)
MCP_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "_meta": MCP_META | JSON_VALUE,
        "name": st.sampled_from(["chat", "run_workflow", "complete_text", ""]) | JSON_VALUE,
        "arguments": PLAUSIBLE | st.fixed_dictionaries({}, optional={"topic": TEXT, "name": TEXT}) | JSON_VALUE,
        "protocolVersion": MCP_VERSION,
    },
)
MCP_METHOD = st.sampled_from(
    ["initialize", "server/discover", "tools/list", "tools/call", "ping", "notifications/initialized", "prompts/list"]
)
MCP_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.just("2.0") | JSON_VALUE,
        "id": st.integers() | TEXT | JSON_VALUE,
        "method": MCP_METHOD | JSON_VALUE,
        "params": MCP_PARAMS | JSON_VALUE,
    },
)
MCP_BODY = (MCP_MESSAGE | st.lists(MCP_MESSAGE, max_size=3)).map(lambda m: json.dumps(m).encode())
BODY = BODY | MCP_BODY
MCP_HEADERS = st.dictionaries(
    st.sampled_from(["MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Mcp-Session-Id"]),
    st.sampled_from(["2026-07-28", "2025-06-18", "2099-01-01", "chat", "=?base64?Y2hhdA==?=", "=?base64?%%?="]).map(
        str.encode
    )
    | MCP_METHOD.map(str.encode)
    | HEADER_VALUE,
    max_size=3,
)
EXTRA_HEADERS = st.tuples(EXTRA_HEADERS, MCP_HEADERS).map(lambda pair: {**pair[1], **pair[0]})


@st.composite
def requests(draw: st.DrawFn) -> dict:
    method = draw(METHOD)
    headers: dict[str, bytes] = dict(draw(EXTRA_HEADERS))
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers["Content-Type"] = content_type.encode()
    authorization = draw(AUTHORIZATION)
    if authorization is not None:
        headers["Authorization"] = authorization
    body = draw(BODY) if method not in ("GET", "HEAD", "OPTIONS") or draw(st.booleans()) else b""
    return {
        "method": method,
        "hook": draw(HOOK),
        "path": draw(PATH),
        "query": draw(RAW_QUERY),
        "headers": headers,
        "body": body,
    }


def send(client: httpx.Client, base_url: str, request: dict) -> httpx.Response:
    base = httpx.URL(base_url)
    target = f"/e/{request['hook']}{request['path']}"
    raw_path = target.encode("utf-8", "surrogateescape") + (
        b"?" + request["query"].encode() if request["query"] else b""
    )
    url = httpx.URL(scheme=base.scheme, host=base.host, port=base.port, raw_path=raw_path)
    # h11 refuses leading or trailing blanks in a header value (so would any proxy)
    headers = [(k.encode("latin-1"), v.strip(b" \t")) for k, v in request["headers"].items()]
    return client.request(request["method"], url, headers=headers, content=request["body"])


#: What the run saw, by outcome (printed at the end; FUZZ_REPORT=<file> writes it as JSON).
OUTCOMES: Counter[str] = Counter()


def refused_by_the_sdk(response: httpx.Response) -> bool:
    """The SDK's request parser (dify_plugin http_parser.deserialize_request) raised before
    the plugin's code ran: the daemon answers 500 with the SDK's error and traceback.
    Known SDK defect, out of the plugin's reach (see docs/reliability.md)."""
    return response.status_code == 500 and "deserialize_request" in response.text and "http_parser.py" in response.text


def check(response: httpx.Response, request: dict) -> None:
    status = response.status_code
    assert 200 <= status < 600, status
    assert not secret_in_response(response)
    if refused_by_the_sdk(response):
        OUTCOMES["refused by the SDK's parser (500)"] += 1
        return
    OUTCOMES[f"{status // 100}xx"] += 1
    if status >= 500:
        assert request["hook"] in APP_FAILURE_HOOKS, (status, response.text[:300])
        assert status in APP_FAILURE_STATUSES, (status, response.text[:300])
    if request["method"] != "HEAD":
        assert not leaks_in(response.text), (status, response.text[:300])


@FUZZ
@given(request=requests())
def test_any_request_on_any_route_gets_a_clean_answer_and_the_plugin_lives_on(
    robust: Robust, client: httpx.Client, request: dict
) -> None:
    devkit = robust.devkit
    response = send(client, devkit.base_url, request)
    if request["method"] == "HEAD" and response.status_code >= 500:
        # a HEAD answer has no body to say why: the same request as GET does
        response = send(client, devkit.base_url, {**request, "method": "GET"})
    check(response, request)
    stats = client.get(f"{devkit.base_url}/devkit/stats").json()
    assert stats["plugin_pid"] == devkit.plugin_pid, stats
    assert stats["plugin_restarts"] == 0, stats


def test_the_fuzzed_plugin_never_logged_the_api_key(robust: Robust) -> None:
    """Runs after the fuzz (same devkit): the plugin's own log lines never carry the key."""
    lines = plugin_log_lines(robust.devkit.log())
    assert lines, "no plugin log line was captured"
    assert not [line for line in lines if SECRET in line]
    OUTCOMES[f"plugin log lines checked ({robust.mode})"] += len(lines)
    print(f"\nfuzz outcomes so far: {dict(OUTCOMES)}")
    if report := os.environ.get("FUZZ_REPORT"):
        Path(report).write_text(json.dumps({"examples_per_mode": EXAMPLES, "outcomes": dict(OUTCOMES)}, indent=2))
