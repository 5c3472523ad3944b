"""Clients that go away mid-stream leave nothing behind, on every streaming route.

What the real daemon does when the HTTP client of an endpoint goes away
(internal/service/endpoint.go, io_tunnel/generic.go, session_manager/session.go):
the handler returns on `CloseNotify`, the session's listener closes and the session is
deleted; the request's context is cancelled. In the local (stdio) install method the
plugin's app calls run on that context (propagateTraceContext), so Dify's app call is
cut and nothing more is written to the plugin for the session (ErrSessionNotFound). In
serverless, the daemon's HTTP call to the plugin is cancelled; the plugin's app calls
are separate transactions, which run until the plugin stops reading them.

The plugin itself is never told, in either method: stdio has no cancel message, and the
SDK's serverless server runs the handler on a worker that only writes into a queue. So
it is the devkit's session that ends (at once), and the plugin's handler ends when its
app stream does: in stdio when the SDK gives up the silent call (MAX_INVOCATION_TIMEOUT,
shortened to 3 s here; 250 s by default), in serverless when the app's own stream ends
(or times out likewise). Until then its keep-alives go to a session nobody reads, every
`keepalive_seconds`. These tests prove all of that and that the plugin is back to its
idle greenlet count afterwards, with the next requests served normally.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from tests.robustness.conftest import Robust
from tests.robustness.support import INVOCATION_TIMEOUT, KEEPALIVE, LAST_WORD, leaks_in, vitals, wait_until

#: Every streaming route: (method, path, request arguments).
STREAMING_ROUTES = (
    ("POST", "/workflow", {"json": {}}),
    ("GET", "/workflow", {}),
    ("POST", "/completion", {"json": {}}),
    ("GET", "/completion", {}),
    ("GET", "/duck", {"params": {"query": "are you there?"}}),
    ("POST", "/duck", {"data": {"query": "are you there?"}}),
)
#: When the client goes away: (moment, endpoint, what it reads before leaving).
MOMENTS = (
    ("after the head", "slow", None),
    ("mid-answer", "slow", "word2"),
    ("in a keep-alive silence", "silent", "keep-alive"),
)
KEEPALIVE_MARKS = (b": keep-alive", b"<!-- -->")
# the slow apps answer for ~2.5 s; a silent one is given up by the SDK after INVOCATION_TIMEOUT
SETTLE_SECONDS = INVOCATION_TIMEOUT + 4 * KEEPALIVE + 6
# The SDK's worker pool may start a worker more than the warm-up needed (it starts one
# whenever none is idle at that instant); a leak leaves one greenlet or more per case.
POOL_SLACK = 2


@dataclass(frozen=True)
class Gone:
    route: str
    moment: str
    status: int
    read: bytes


def leave(base_url: str, method: str, path: str, kwargs: dict, moment: str, hook: str, until: str | None) -> Gone:
    """Open the stream, read up to `until` (None: only the head), then vanish."""
    read = b""
    with (
        httpx.Client(base_url=f"{base_url}/e/{hook}", timeout=20) as client,
        client.stream(method, path, **kwargs) as response,
    ):
        for chunk in response.iter_raw():
            read += chunk
            if until is None:
                break
            if until == "keep-alive" and any(mark in read for mark in KEEPALIVE_MARKS):
                break
            if until != "keep-alive" and until.encode() in read:
                break
        status = response.status_code
    return Gone(f"{method} {path}", moment, status, read)


def next_requests_are_served(robust: Robust) -> None:
    client = robust.devkit.client("open")
    blocking = client.post("/workflow", json={"inputs": {"topic": "ducks"}, "response_mode": "blocking"})
    assert blocking.status_code == 200, blocking.text
    assert blocking.json()["data"]["status"] == "succeeded"
    streamed = client.post("/completion", json={"inputs": {"name": "Ada"}})
    assert streamed.status_code == 200
    assert "event: message_end" in streamed.text
    page = client.get("/duck", params={"query": "still there?"})
    assert page.status_code == 200
    assert "</html>" in page.text


def warm_up(robust: Robust, concurrency: int) -> None:
    """As many requests at once as the test will make (slow ones, so that they overlap):
    the SDK's worker pool keeps its workers (greenlets) once started, which is not a leak."""
    url = f"{robust.devkit.base_url}/e/slow/workflow"
    body: dict = {}
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, json=body, timeout=30), range(concurrency)))
    assert all(a.status_code == 200 for a in answers), [(a.status_code, a.text[:200]) for a in answers][:2]


def test_clients_that_vanish_mid_stream_leave_no_session_no_app_call_and_no_greenlet(robust: Robust) -> None:
    devkit = robust.devkit
    cases = [(m, p, kw, moment, hook, until) for (m, p, kw) in STREAMING_ROUTES for (moment, hook, until) in MOMENTS]
    warm_up(robust, len(cases))
    idle = vitals(devkit, robust.probe_dir)
    before = devkit.stats()

    with ThreadPoolExecutor(len(cases)) as pool:
        gone = list(pool.map(lambda case: leave(devkit.base_url, *case), cases))
    left_at = time.monotonic()

    for case in gone:
        assert case.status == 200, case
        assert not leaks_in(case.read.decode(errors="replace")), case
        if case.moment == "mid-answer":
            assert b"word2" in case.read, case
            assert LAST_WORD not in case.read, case
    silences = [c for c in gone if c.moment == "in a keep-alive silence"]
    assert all(any(mark in c.read for mark in KEEPALIVE_MARKS) for c in silences)

    # the plugin was not told: its handlers still run (this also proves the probe sees them)
    assert vitals(devkit, robust.probe_dir).busy_greenlets > 0
    # the devkit notices at once (as Go's CloseNotify) and ends every session
    _, took = wait_until(lambda: devkit.stats()["open_sessions"], lambda n: n == 0, 2.0, "open sessions")
    if robust.mode == "local":
        # ... and cuts the session's app calls, as the request context cuts the daemon's
        wait_until(lambda: devkit.stats()["open_app_calls"], lambda n: n == 0, 2.0, "open app calls (local)")
    # the plugin's handlers end when their app streams do; then it is back to idle
    _, settled = wait_until(
        lambda: vitals(devkit, robust.probe_dir).greenlets,
        lambda n: n <= idle.greenlets + POOL_SLACK,
        SETTLE_SECONDS,
        f"greenlets (idle: {idle})",
    )
    assert devkit.stats()["open_app_calls"] == 0
    after = vitals(devkit, robust.probe_dir)
    assert after.busy_greenlets == 0
    stats = devkit.stats()
    assert stats["plugin_pid"] == before["plugin_pid"]
    assert stats["plugin_restarts"] == before["plugin_restarts"]
    assert after.threads <= idle.threads
    assert after.fds <= idle.fds
    print(
        f"\n{robust.mode}: {len(gone)} disconnects; sessions closed {took:.2f} s after, greenlets back to "
        f"{after.greenlets} (idle {idle.greenlets}) {time.monotonic() - left_at:.1f} s after ({settled:.1f} s of wait)"
    )
    next_requests_are_served(robust)
