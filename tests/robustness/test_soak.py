"""A long mixed load leaves the plugin as it found it: no unexpected answer, no session
left open, no growth of memory, threads, greenlets or file descriptors, no api_key in
any answer or log line.

The mix cycles through every route and outcome: streaming and blocking runs, Duck pages
(GET, form and JSON POST, the bare form), client mistakes (bad JSON, a missing input),
auth failures and successes, app failures (mid-stream, blocking, missing app), EventSource
reconnects, unknown routes, and clients that vanish mid-stream (after the head, after the
first word). Sequential first, then concurrent.

`make test` runs it short (SOAK_SEQUENTIAL=50, SOAK_CONCURRENT=20 per install method);
`make soak` runs 2,000 + 200 per install method and writes the figures to SOAK_REPORT.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from tests.robustness.conftest import Robust
from tests.robustness.support import SECRET, Vitals, leaks_in, plugin_log_lines, secret_in_response, vitals, wait_until

SEQUENTIAL = int(os.environ.get("SOAK_SEQUENTIAL", "50"))  # every kind twice
CONCURRENT = int(os.environ.get("SOAK_CONCURRENT", "20"))
WORKERS = min(50, max(CONCURRENT, 1))
#: stdio: RSS may grow by less than this after warm-up (the issue's bar).
MAX_RSS_GROWTH = 0.10
FD_SLACK = 2

Check = Callable[[httpx.Response, bytes], bool]


@dataclass(frozen=True)
class Kind:
    """One kind of request of the mix and what its answer must be."""

    name: str
    hook: str
    method: str
    path: str
    kwargs: dict
    ok: Check
    # read only this much, then vanish (None: read the whole answer)
    leave_after: bytes | None = None


def status(code: int, *needles: str) -> Check:
    return lambda r, body: r.status_code == code and all(n.encode() in body for n in needles)


WORKFLOW = {"inputs": {"topic": "ducks"}}
COMPLETION = {"inputs": {"name": "Ada"}}
BEARER = {"Authorization": f"Bearer {SECRET}"}
OPENAI_CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
OPENAI_STREAM = {**OPENAI_CHAT, "stream": True}
MIX = (
    Kind("workflow stream", "open", "POST", "/workflow", {"json": WORKFLOW}, status(200, "event: workflow_finished")),
    Kind(
        "workflow blocking",
        "open",
        "POST",
        "/workflow",
        {"json": {**WORKFLOW, "response_mode": "blocking"}},
        status(200, '"succeeded"'),
    ),
    Kind(
        "workflow GET",
        "open",
        "GET",
        "/workflow",
        {"params": {"inputs": json.dumps(WORKFLOW["inputs"])}},
        status(200, "workflow_finished"),
    ),
    Kind("completion stream", "open", "POST", "/completion", {"json": COMPLETION}, status(200, "event: message_end")),
    Kind(
        "completion blocking",
        "open",
        "POST",
        "/completion",
        {"json": {**COMPLETION, "response_mode": "blocking"}},
        status(200, "Dear Ada"),
    ),
    Kind(
        "completion GET",
        "open",
        "GET",
        "/completion",
        {"params": {"inputs": json.dumps(COMPLETION["inputs"])}},
        status(200, "message_end"),
    ),
    Kind("duck GET", "open", "GET", "/duck", {"params": {"query": "hi"}}, status(200, "</html>")),
    Kind("duck form POST", "open", "POST", "/duck", {"data": {"query": "hi"}}, status(200, "</html>")),
    Kind("duck JSON POST", "open", "POST", "/duck", {"json": {"query": "hi"}}, status(200, "</html>")),
    Kind("duck form page", "open", "GET", "/duck", {}, status(200, "<form")),
    Kind(
        "bad JSON",
        "open",
        "POST",
        "/workflow",
        {"content": b"{nope", "headers": {"Content-Type": "application/json"}},
        status(400, "invalid_json"),
    ),
    Kind(
        "missing input",
        "open",
        "POST",
        "/workflow",
        {"json": {"inputs": {}, "response_mode": "blocking"}},
        status(400, "invalid_inputs"),
    ),
    Kind("no api_key", "locked", "POST", "/workflow", {"json": WORKFLOW}, status(401, "missing_api_key")),
    Kind(
        "wrong api_key",
        "locked",
        "POST",
        "/completion",
        {"json": COMPLETION, "headers": {"Authorization": "Bearer nope"}},
        status(401, "invalid_api_key"),
    ),
    Kind(
        "right api_key",
        "locked",
        "GET",
        "/duck",
        {"params": {"query": "hi"}, "headers": BEARER},
        status(200, "</html>"),
    ),
    Kind(
        "right api_key stream",
        "locked",
        "POST",
        "/workflow",
        {"json": WORKFLOW, "headers": BEARER},
        status(200, "workflow_finished"),
    ),
    Kind("app breaks mid-stream", "failing", "POST", "/workflow", {"json": {}}, status(200, "event: error")),
    Kind(
        "app fails blocking",
        "failing",
        "POST",
        "/completion",
        {"json": {"response_mode": "blocking"}},
        lambda r, body: r.status_code in (502, 504) and b'"error"' in body,
    ),
    Kind(
        "app missing",
        "missing",
        "POST",
        "/workflow",
        {"json": {"response_mode": "blocking"}},
        status(503, "app_not_found"),
    ),
    Kind("app missing stream", "missing", "POST", "/workflow", {"json": {}}, status(200, "app_not_found")),
    Kind("duck app fails", "failing", "GET", "/duck", {"params": {"query": "hi"}}, status(200, 'class="error"')),
    Kind(
        "EventSource reconnect",
        "open",
        "GET",
        "/workflow",
        {"headers": {"Last-Event-ID": "3"}},
        lambda r, body: r.status_code == 204,
    ),
    Kind("unknown route", "open", "GET", "/nope", {}, lambda r, body: r.status_code == 404),
    Kind(
        "vanish after the head",
        "slow",
        "GET",
        "/completion",
        {},
        lambda r, body: r.status_code == 200,
        leave_after=b"",
    ),
    Kind(
        "vanish after a word",
        "slow",
        "POST",
        "/duck",
        {"data": {"query": "hi"}},
        lambda r, body: r.status_code == 200,
        leave_after=b"word0",
    ),
    # the OpenAI-compatible routes (gallery.openai_compat)
    Kind("openai models", "open", "GET", "/v1/models", {}, status(200, '"object": "list"')),
    Kind("openai chat stream", "open", "POST", "/v1/chat/completions", {"json": OPENAI_STREAM}, status(200, "[DONE]")),
    Kind(
        "openai chat blocking",
        "open",
        "POST",
        "/v1/chat/completions",
        {"json": OPENAI_CHAT},
        status(200, '"chat.completion"'),
    ),
    Kind(
        "openai workflow",
        "open",
        "POST",
        "/v1/chat/completions",
        {"json": {**OPENAI_STREAM, "model": "workflow"}},
        status(200, "[DONE]"),
    ),
    Kind(
        "openai odd role and image part",
        "open",
        "POST",
        "/v1/chat/completions",
        {"json": {"model": "chat", "messages": [{"role": "robot", "content": [{"type": "image_url"}]}]}},
        status(400, "invalid_request_error"),
    ),
    Kind(
        "openai huge message list",
        "open",
        "POST",
        "/v1/chat/completions",
        {"json": {"model": "chat", "messages": [{"role": "user", "content": "x"}] * 5000}},
        status(413, "request_too_large"),
    ),
    Kind(
        "openai wrong key",
        "locked",
        "GET",
        "/v1/models",
        {"headers": {"Authorization": "Bearer no"}},
        status(401, "invalid_api_key"),
    ),
    Kind(
        "openai unknown model",
        "open",
        "POST",
        "/v1/chat/completions",
        {"json": {**OPENAI_CHAT, "model": "gpt-4o"}},
        status(404, "model_not_found"),
    ),
    Kind(
        "openai app fails",
        "failing",
        "POST",
        "/v1/chat/completions",
        {"json": OPENAI_STREAM},
        lambda r, body: r.status_code in (200, 502) and b'"error"' in body,
    ),
    Kind(
        "openai vanish mid-stream",
        "slow",
        "POST",
        "/v1/chat/completions",
        {"json": OPENAI_STREAM},
        lambda r, body: r.status_code == 200,
        leave_after=b"word0",
    ),
)


# MCP (/mcp, gallery/mcp): a 2026-07-28 call with progress (SSE), a plain call, a listing,
# a tool error, protocol errors, no key, GET, and a client that vanishes mid-call.
MCP_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def mcp_call(name: str, arguments: dict, **meta: object) -> dict:
    """kwargs for a 2026-07-28 `tools/call` (envelope and headers)."""
    params = {"name": name, "arguments": arguments, "_meta": {**MCP_META, **meta}}
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name}
    return {"json": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}, "headers": headers}


MCP_LIST = {"json": {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}}
MIX = (
    *MIX,
    Kind("mcp tools/list", "open", "POST", "/mcp", MCP_LIST, status(200, '"run_workflow"')),
    Kind(
        "mcp call with progress",
        "open",
        "POST",
        "/mcp",
        mcp_call("run_workflow", WORKFLOW["inputs"], progressToken=1),
        status(200, "notifications/progress", '"isError":false'),
    ),
    Kind("mcp call", "open", "POST", "/mcp", mcp_call("chat", {"query": "hi"}), status(200, '"isError": false')),
    Kind("mcp tool error", "failing", "POST", "/mcp", mcp_call("run_workflow", {}), status(200, '"isError": true')),
    Kind("mcp batch", "open", "POST", "/mcp", {"json": [MCP_LIST["json"]]}, status(400, "-32600")),
    Kind("mcp no api_key", "locked", "POST", "/mcp", MCP_LIST, status(401, "missing_api_key")),
    Kind("mcp GET", "open", "GET", "/mcp", {}, status(405, "method_not_allowed")),
    Kind(
        "mcp vanish mid-call",
        "slow",
        "POST",
        "/mcp",
        mcp_call("run_workflow", {}, progressToken="p"),
        lambda r, body: r.status_code == 200,
        leave_after=b"word0",
    ),
)


@dataclass
class Outcome:
    kind: str
    ok: bool
    detail: str = ""


def run(client: httpx.Client, base_url: str, kind: Kind) -> Outcome:
    url = f"{base_url}/e/{kind.hook}{kind.path}"
    try:
        with client.stream(kind.method, url, **kind.kwargs) as response:
            body = b""
            for chunk in response.iter_raw():
                body += chunk
                if kind.leave_after is not None and kind.leave_after in body:
                    break  # leaving the block closes the connection: the client vanished
    except httpx.HTTPError as error:
        return Outcome(kind.name, False, f"{type(error).__name__}: {error}")
    problems = []
    if not kind.ok(response, body):
        problems.append(f"unexpected answer {response.status_code}: {body[:200]!r}")
    if leaks := leaks_in(body.decode(errors="replace")):
        problems.append(f"leaked {leaks}")
    if secret_in_response(response, body):
        problems.append("the api_key is in the answer")
    return Outcome(kind.name, not problems, "; ".join(problems))


def sequential(base_url: str, count: int, start: int = 0) -> list[Outcome]:
    # a fresh connection for every request, as separate clients would
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        return [run(client, base_url, MIX[(start + i) % len(MIX)]) for i in range(count)]


def concurrent(base_url: str, count: int, start: int = 0) -> list[Outcome]:
    with (
        httpx.Client(timeout=60, limits=httpx.Limits(max_connections=None)) as client,
        ThreadPoolExecutor(WORKERS) as pool,
    ):
        return list(pool.map(lambda i: run(client, base_url, MIX[(start + i) % len(MIX)]), range(count)))


def settle(robust: Robust, baseline: Vitals) -> Vitals:
    """Wait for the abandoned handlers to end (see test_disconnects.py), then look."""
    devkit = robust.devkit
    wait_until(lambda: devkit.stats()["open_sessions"], lambda n: n == 0, 5, "open sessions")
    wait_until(lambda: devkit.stats()["open_app_calls"], lambda n: n == 0, 20, "open app calls")
    # every handler ended (the SDK's pool keeps idle workers: live greenlets are reported)
    wait_until(lambda: vitals(devkit, robust.probe_dir).busy_greenlets, lambda n: n == 0, 20, "busy greenlets")
    return vitals(devkit, robust.probe_dir)


def growth(before: int, after: int) -> float:
    return (after - before) / before if before else 0.0


def test_a_mixed_soak_leaves_no_failure_no_open_session_and_no_growth(robust: Robust) -> None:
    devkit = robust.devkit
    base = devkit.base_url
    start_stats = devkit.stats()
    # warm-up: a quarter of the sequential run (at least every kind once), then a burst as
    # wide as the concurrent phase. The SDK's worker pool keeps every worker it started,
    # and abandoned handlers hold theirs until their app stream ends: the pool reaches the
    # size the load needs during the warm-up, and that is not growth.
    warm = sequential(base, max(len(MIX), SEQUENTIAL // 4)) + concurrent(base, WORKERS)
    assert [o for o in warm if not o.ok] == []
    warmed = settle(robust, vitals(devkit, robust.probe_dir))

    began = time.monotonic()
    outcomes = sequential(base, SEQUENTIAL)
    sequential_seconds = time.monotonic() - began
    began = time.monotonic()
    outcomes += concurrent(base, CONCURRENT, start=SEQUENTIAL)
    concurrent_seconds = time.monotonic() - began
    end = settle(robust, warmed)

    stats = devkit.stats()
    failures = [o for o in outcomes if not o.ok]
    log_lines = plugin_log_lines(devkit.log())
    report = {
        "mode": robust.mode,
        "sequential": SEQUENTIAL,
        "concurrent": CONCURRENT,
        "concurrency": WORKERS,
        "sequential_seconds": round(sequential_seconds, 1),
        "concurrent_seconds": round(concurrent_seconds, 1),
        "by_kind": dict(Counter(o.kind for o in outcomes)),
        "disconnects": sum(1 for o in outcomes if o.kind.startswith("vanish")),
        "failures": len(failures),
        "failure_examples": [asdict(f) for f in failures[:5]],
        "after_warm_up": asdict(warmed),
        "end": asdict(end),
        "rss_growth": round(growth(warmed.rss_kib, end.rss_kib), 4),
        "thread_growth": end.threads - warmed.threads,
        "greenlet_growth": end.greenlets - warmed.greenlets,
        "busy_greenlets_at_end": end.busy_greenlets,
        "fd_growth": end.fds - warmed.fds,
        "open_sessions": stats["open_sessions"],
        "open_app_calls": stats["open_app_calls"],
        "plugin_restarts": stats["plugin_restarts"] - start_stats["plugin_restarts"],
        "plugin_log_lines_checked": len(log_lines),
    }
    print(f"\nsoak {robust.mode}: {json.dumps(report)}")
    if path := os.environ.get("SOAK_REPORT"):
        target = Path(path)
        previous = json.loads(target.read_text()) if target.exists() else {}
        target.write_text(json.dumps({**previous, robust.mode: report}, indent=2))

    assert failures == []
    assert stats["open_sessions"] == 0
    assert stats["plugin_pid"] == start_stats["plugin_pid"]
    assert report["plugin_restarts"] == 0
    assert end.threads <= warmed.threads
    assert end.fds <= warmed.fds + FD_SLACK
    assert not [line for line in log_lines if SECRET in line]
    if robust.mode == "local":
        assert report["rss_growth"] < MAX_RSS_GROWTH, report
