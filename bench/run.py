"""`make bench`: the gallery's streaming cost, side by side with two baselines, in one run.

The real plugin runs behind the devkit (stdio, then serverless), and so does the
benchmark's own fixture plugin (`bench/baseline_plugin`, never shipped) with the two
baselines: (a) a raw pass-through (`/raw`: each app event as one JSON line, as it
comes) and (b) the shape of the Duck example in Dify's docs (`/docs-duck`:
`json.dumps(event) + " <br>"`). Both plugins get the same endpoint configuration and
the same scripted apps, whose events carry the devkit's send time (`stamp_events`), so
that the client (on the same machine) sees each event's delay.

Absolute times on a shared machine are noise; what this reports is each figure as a
ratio to the baselines measured in the same run, in alternating rounds. It asserts
nothing: it prints a table, writes `bench.json` and `bench.png` to the output folder
(default `bench/out/`), and stops by itself (every count is fixed, every request has
a timeout, load goes to 127.0.0.1 only).

    .venv/bin/python bench/run.py            # the full run (~6 minutes)
    .venv/bin/python bench/run.py --quick    # a small one (< 1 minute)
    .venv/bin/python bench/run.py --modes local --sections burst,concurrency --rounds 3
                                             # a focused run: only what a change is about
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import yaml

from dify_plugin_devkit.testing import RunningDevkit, start_devkit

ROOT = Path(__file__).resolve().parent.parent
BASELINE_PLUGIN = ROOT / "bench" / "baseline_plugin"
DEFAULT_OUT = ROOT / "bench" / "out"
#: No single request may take longer than this (the run stops by itself).
REQUEST_TIMEOUT = 180.0
#: Where the devkit's send time sits in every event (compact or spaced JSON), or in an
#: answer's text (`devkit_sent_ns=N`: apps with `stamp_answers`, for the OpenAI route).
_STAMP = re.compile(rb'devkit_sent_ns"?[:=] ?(\d+)')


@dataclass(frozen=True)
class Sizes:
    """Every count of one run: the full one, or `--quick`."""

    burst_events: int
    burst_rounds: int
    paced_events: int
    paced_rate: float
    paced_rounds: int
    first_event_delay: float
    streams: int
    stream_events: int
    stream_rate: float
    stream_rounds: int
    sequential: int
    sequential_events: int
    first_byte_together: bool = False


FULL = Sizes(
    burst_events=10_000,
    burst_rounds=3,
    paced_events=300,
    paced_rate=100.0,
    paced_rounds=2,
    first_event_delay=2.0,
    streams=200,
    stream_events=100,
    stream_rate=20.0,
    stream_rounds=2,
    sequential=2000,
    sequential_events=5,
)
QUICK = Sizes(
    burst_events=500,
    burst_rounds=1,
    paced_events=30,
    paced_rate=100.0,
    paced_rounds=1,
    first_event_delay=2.0,
    streams=20,
    stream_events=20,
    stream_rate=20.0,
    stream_rounds=1,
    sequential=50,
    sequential_events=5,
    first_byte_together=True,
)

# --- what runs: apps, endpoint instances, routes ------------------------------------

#: scenario -> (events, seconds between events, seconds before the first)
Scenario = tuple[int, float, float]


def scenarios(sizes: Sizes) -> dict[str, Scenario]:
    return {
        "burst": (sizes.burst_events, 0.0, 0.0),
        "paced": (sizes.paced_events, 1 / sizes.paced_rate, 0.0),
        "slow": (3, 0.0, sizes.first_event_delay),
        "conc": (sizes.stream_events, 1 / sizes.stream_rate, 0.0),
        "mem": (sizes.sequential_events, 0.0, 0.0),
    }


def devkit_config(sizes: Sizes) -> dict[str, Any]:
    """One configuration for both plugins: per scenario a workflow, a completion and a
    chat app (answers of N one-word tokens: N delta events), and an endpoint instance
    (hook id = scenario) set to use them."""
    apps: list[dict[str, Any]] = []
    endpoints: list[dict[str, Any]] = []
    for name, (events, delay, first) in scenarios(sizes).items():
        common = {"answer": " ".join(["w"] * events), "token_delay": delay, "stamp_events": True}
        if first:
            common["first_event_delay"] = first
        apps += [
            {"id": f"wf-{name}", "name": f"wf {name}", "mode": "workflow", "script": "workflow", **common},
            {"id": f"comp-{name}", "name": f"comp {name}", "mode": "completion", "script": "completion", **common},
            {"id": f"chat-{name}", "name": f"chat {name}", "mode": "chat", "script": "answer", **common},
        ]
        settings = {"workflow_app": f"wf-{name}", "completion_app": f"comp-{name}", "chat_app": f"chat-{name}"}
        endpoints.append({"hook_id": name, "settings": {**settings, "keepalive_seconds": "15"}})
        # the OpenAI route passes on only the answer's text: its app stamps the text itself
        stamped = {**common, "stamp_events": False, "stamp_answers": True}
        apps.append(
            {"id": f"oai-chat-{name}", "name": f"oai chat {name}", "mode": "chat", "script": "answer", **stamped}
        )
        endpoints.append(
            {
                "hook_id": f"{OPENAI_HOOKS}{name}",
                "settings": {"chat_app": f"oai-chat-{name}", "keepalive_seconds": "15"},
            }
        )
    # completion apps are measured as a later Dify runs them (Dify 1.13.2 answers them 500)
    return {"apps": apps, "endpoints": endpoints, "dify": {"quirks": {"completion_from_plugin_fails": False}}}


@dataclass(frozen=True)
class Route:
    """One HTTP route under test: `plugin` is "gallery" or "baseline"."""

    label: str
    plugin: str
    method: str
    path: str
    app_kind: str
    body: dict[str, Any] | None = None  # a POST's JSON body (default `{}`)
    hook_prefix: str = ""  # the endpoint instance is `<prefix><scenario>`


GALLERY_WORKFLOW = Route("gallery /workflow", "gallery", "POST", "/workflow", "workflow")
GALLERY_COMPLETION = Route("gallery /completion", "gallery", "POST", "/completion", "completion")
GALLERY_DUCK = Route("gallery /duck", "gallery", "GET", "/duck?query=bench", "chat")


def raw(kind: str) -> Route:
    return Route(f"(a) raw {kind}", "baseline", "GET", f"/raw?kind={kind}", kind)


def docs(kind: str) -> Route:
    return Route(f"(b) docs {kind}", "baseline", "GET", f"/docs-duck?kind={kind}", kind)


#: The OpenAI-compatible route's instances (`oai-<scenario>`): a chat app whose deltas carry their send time.
OPENAI_HOOKS = "oai-"
GALLERY_OPENAI = Route(
    "gallery /v1/chat/completions",
    "gallery",
    "POST",
    "/v1/chat/completions",
    "openai",
    body={"model": "chat", "messages": [{"role": "user", "content": "bench"}], "stream": True},
    hook_prefix=OPENAI_HOOKS,
)

#: gallery route -> its two baselines over the same app
COMPARED: list[tuple[Route, Route, Route]] = [
    (GALLERY_WORKFLOW, raw("workflow"), docs("workflow")),
    (GALLERY_COMPLETION, raw("completion"), docs("completion")),
    (GALLERY_DUCK, raw("chat"), docs("chat")),
    (
        GALLERY_OPENAI,
        Route("(a) raw chat, stamped answers", "baseline", "GET", "/raw?kind=chat", "openai", hook_prefix=OPENAI_HOOKS),
        Route(
            "(b) docs chat, stamped answers",
            "baseline",
            "GET",
            "/docs-duck?kind=chat",
            "openai",
            hook_prefix=OPENAI_HOOKS,
        ),
    ),
]
#: The trios whose events carry stamps (Duck's page carries none).
STAMPED = [trio for trio in COMPARED if trio[0] is not GALLERY_DUCK]


# --- one streamed request ------------------------------------------------------------


@dataclass
class Stream:
    """What one request saw: its status, when its first byte came, each event's delay."""

    status: int = 0
    error: str | None = None
    started_ns: int = 0
    first_byte_ns: int | None = None
    ended_ns: int = 0
    chunks: int = 0
    delays_ms: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return (self.ended_ns - self.started_ns) / 1e9


async def fetch(http: aiohttp.ClientSession, base: str, route: Route) -> Stream:
    """Request `route` and read its body as it comes, stamping each event on arrival."""
    seen = Stream(started_ns=time.time_ns())
    body: dict[str, Any] | None = (route.body or {}) if route.method == "POST" else None
    try:
        async with http.request(route.method, base + route.path, json=body) as response:
            seen.status = response.status
            pending = b""
            async for chunk in response.content.iter_any():
                now = time.time_ns()
                if seen.first_byte_ns is None:
                    seen.first_byte_ns = now
                seen.chunks += 1
                pending += chunk
                keep = max(0, len(pending) - 40)  # a stamp may be cut by a chunk's end
                for match in _STAMP.finditer(pending):
                    if match.end() == len(pending):
                        keep = match.start()
                        break
                    seen.delays_ms.append((now - int(match.group(1))) / 1e6)
                    keep = match.end()
                pending = pending[keep:]
            if response.status != 200:
                seen.error = f"HTTP {response.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        seen.error = f"{type(error).__name__}: {error}"
    seen.ended_ns = time.time_ns()
    return seen


# --- statistics ------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


# --- the plugins' processes ---------------------------------------------------------------


class PluginProcess:
    """The plugin process behind a devkit: its RSS and CPU seconds (psutil)."""

    def __init__(self, devkit: RunningDevkit) -> None:
        self.devkit = devkit

    def process(self) -> psutil.Process:
        return psutil.Process(int(self.devkit.stats()["plugin_pid"]))

    def rss_mib(self) -> float:
        return self.process().memory_info().rss / 2**20

    def cpu_seconds(self) -> float:
        times = self.process().cpu_times()
        return float(times.user + times.system)


async def sample_rss(process: psutil.Process, t0: float, into: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """RSS every 100 ms until `stop`."""
    while not stop.is_set():
        into.append((time.monotonic() - t0, process.memory_info().rss / 2**20))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)


# --- the five sections ------------------------------------------------------------------


@dataclass
class Bench:
    sizes: Sizes
    urls: dict[str, str]  # plugin -> base URL of endpoint instances (`.../e/`)
    plugins: dict[str, PluginProcess]
    http: aiohttp.ClientSession
    log: Callable[[str], None]

    def base(self, route: Route, hook: str) -> str:
        return f"{self.urls[route.plugin]}{route.hook_prefix}{hook}"

    async def one(self, route: Route, hook: str) -> Stream:
        return await fetch(self.http, self.base(route, hook), route)

    async def many(self, route: Route, hook: str, count: int) -> list[Stream]:
        return list(await asyncio.gather(*(self.one(route, hook) for _ in range(count))))

    async def warm_up(self) -> None:
        for gallery, *baselines in COMPARED:
            for route in (gallery, *baselines):
                await self.one(route, "mem")

    async def burst(self) -> dict[str, Any]:
        """1. events/s with the app sending as fast as it can; ratio to (a) and (b)."""
        seconds: dict[str, list[float]] = {}
        events: dict[str, int] = {}
        errors: dict[str, int] = {}
        for _ in range(self.sizes.burst_rounds):
            for trio in COMPARED:
                for route in trio:
                    seen = await self.one(route, "burst")
                    seconds.setdefault(route.label, []).append(seen.seconds)
                    errors[route.label] = errors.get(route.label, 0) + (seen.error is not None)
                    if seen.delays_ms:
                        events[route.app_kind] = len(seen.delays_ms)
        rows = {}
        for gallery, a, b in COMPARED:
            count = events.get(gallery.app_kind, self.sizes.burst_events)
            rate = {r.label: count / statistics.median(seconds[r.label]) for r in (gallery, a, b)}
            rows[gallery.label] = {
                "app_events": count,
                "events_per_s": rate[gallery.label],
                "raw_events_per_s": rate[a.label],
                "docs_events_per_s": rate[b.label],
                "vs_raw": ratio(rate[gallery.label], rate[a.label]),
                "vs_docs": ratio(rate[gallery.label], rate[b.label]),
                "rounds_vs_raw": [ratio(x, y) for x, y in zip(seconds[a.label], seconds[gallery.label], strict=True)],
                "rounds_vs_docs": [ratio(x, y) for x, y in zip(seconds[b.label], seconds[gallery.label], strict=True)],
                "errors": errors[gallery.label] + errors[a.label] + errors[b.label],
            }
        return rows

    async def latency(self) -> tuple[dict[str, Any], dict[str, list[float]]]:
        """2. per-event delay with the app paced; p50/p99 and their excess over (a)."""
        delays: dict[str, list[float]] = {}
        for _ in range(self.sizes.paced_rounds):
            for gallery, a, b in STAMPED:  # Duck's page carries no event to stamp
                for route in (gallery, a, b):
                    delays.setdefault(route.label, []).extend((await self.one(route, "paced")).delays_ms)
        rows = {}
        for gallery, a, b in STAMPED:
            g, r, d = delays[gallery.label], delays[a.label], delays[b.label]
            rows[gallery.label] = {
                "events": len(g),
                "p50_ms": pct(g, 50),
                "p99_ms": pct(g, 99),
                "raw_p50_ms": pct(r, 50),
                "raw_p99_ms": pct(r, 99),
                "docs_p99_ms": pct(d, 99),
                "added_p50_ms": diff(pct(g, 50), pct(r, 50)),
                "added_p99_ms": diff(pct(g, 99), pct(r, 99)),
            }
        return rows, delays

    async def first_byte(self) -> dict[str, Any]:
        """3. time to first byte with an app whose first event comes after 2 s: one
        request at a time (a quick run sends them all at once, to save the waits)."""
        routes = [route for trio in COMPARED for route in trio]
        if self.sizes.first_byte_together:
            seen = list(await asyncio.gather(*(self.one(route, "slow") for route in routes)))
        else:
            seen = [await self.one(route, "slow") for route in routes]
        out: dict[str, Any] = {}
        for route, stream in zip(routes, seen, strict=True):
            first = None if stream.first_byte_ns is None else (stream.first_byte_ns - stream.started_ns) / 1e6
            out[route.label] = {"first_byte_ms": first, "first_event_ms": _first_event_ms(stream, route)}
        return out

    async def concurrency(self) -> tuple[dict[str, Any], dict[str, list[float]], dict[str, list[tuple[float, float]]]]:
        """4. N simultaneous paced streams: errors, p50/p99 delay vs (a), peak RSS, CPU
        seconds per 1,000 events."""
        expected = self.sizes.stream_events + 8  # a workflow run: 7 node/run events around the deltas
        routes = [GALLERY_WORKFLOW, raw("workflow")]
        delays: dict[str, list[float]] = {r.label: [] for r in routes}
        rss: dict[str, list[tuple[float, float]]] = {}
        stats: dict[str, dict[str, Any]] = {
            r.label: {"errors": 0, "events": 0, "cpu_s": 0.0, "peak_rss_mib": 0.0} for r in routes
        }
        per_round: list[dict[str, float | None]] = []
        for round_index in range(self.sizes.stream_rounds):
            for route in routes:
                plugin = self.plugins[route.plugin]
                process = plugin.process()
                samples: list[tuple[float, float]] = []
                stop = asyncio.Event()
                sampler = asyncio.ensure_future(sample_rss(process, time.monotonic(), samples, stop))
                cpu0 = plugin.cpu_seconds()
                seen = await self.many(route, "conc", self.sizes.streams)
                cpu = plugin.cpu_seconds() - cpu0
                stop.set()
                await sampler
                row = stats[route.label]
                row["errors"] += sum(s.error is not None or len(s.delays_ms) != expected for s in seen)
                row["events"] += sum(len(s.delays_ms) for s in seen)
                row["cpu_s"] += cpu
                row["peak_rss_mib"] = max(row["peak_rss_mib"], max((m for _, m in samples), default=0.0))
                for s in seen:
                    delays[route.label].extend(s.delays_ms)
                if round_index == 0:
                    rss[route.label] = samples
                this = [d for s in seen for d in s.delays_ms]
                if route is routes[0]:
                    per_round.append({"p50_ms": pct(this, 50), "p99_ms": pct(this, 99)})
                else:
                    per_round[-1].update({"raw_p50_ms": pct(this, 50), "raw_p99_ms": pct(this, 99)})
                    per_round[-1]["p99_vs_raw"] = ratio(per_round[-1]["p99_ms"], per_round[-1]["raw_p99_ms"])
        g, a = (delays[r.label] for r in routes)
        gs, rs = (stats[r.label] for r in routes)
        row = {
            "streams": self.sizes.streams,
            "events_per_stream": expected,
            "rate_per_stream": self.sizes.stream_rate,
            "errors": gs["errors"],
            "raw_errors": rs["errors"],
            "p50_ms": pct(g, 50),
            "p99_ms": pct(g, 99),
            "raw_p50_ms": pct(a, 50),
            "raw_p99_ms": pct(a, 99),
            "p99_vs_raw": ratio(pct(g, 99), pct(a, 99)),
            "p50_vs_raw": ratio(pct(g, 50), pct(a, 50)),
            "peak_rss_mib": gs["peak_rss_mib"],
            "raw_peak_rss_mib": rs["peak_rss_mib"],
            "cpu_s_per_1000_events": 1000 * gs["cpu_s"] / max(1, gs["events"]),
            "raw_cpu_s_per_1000_events": 1000 * rs["cpu_s"] / max(1, rs["events"]),
        }
        row["cpu_vs_raw"] = ratio(row["cpu_s_per_1000_events"], row["raw_cpu_s_per_1000_events"])
        row["rounds"] = per_round
        return row, delays, rss

    async def sequential(self) -> tuple[dict[str, Any], dict[str, list[tuple[int, float]]]]:
        """5b. RSS growth over N sequential requests (gallery /workflow and (a))."""
        out: dict[str, Any] = {}
        curves: dict[str, list[tuple[int, float]]] = {}
        for route in (GALLERY_WORKFLOW, raw("workflow")):
            plugin = self.plugins[route.plugin]
            process = plugin.process()
            before = process.memory_info().rss / 2**20
            curve = [(0, before)]
            errors = 0
            every = max(1, self.sizes.sequential // 50)
            for index in range(1, self.sizes.sequential + 1):
                errors += (await self.one(route, "mem")).error is not None
                if index % every == 0:
                    curve.append((index, process.memory_info().rss / 2**20))
            after = curve[-1][1]
            curves[route.label] = curve
            out[route.label] = {
                "requests": self.sizes.sequential,
                "errors": errors,
                "rss_before_mib": before,
                "rss_after_mib": after,
                "growth_mib": after - before,
                "growth_mib_per_100_requests": 100 * (after - before) / self.sizes.sequential,
            }
        return out, curves


def _first_event_ms(stream: Stream, route: Route) -> float | None:
    """When the first app event arrived (its delay is on top of the 2 s the app waits)."""
    del route
    return None if not stream.delays_ms else stream.delays_ms[0]


PLUGINS = (("gallery", ROOT), ("baseline", BASELINE_PLUGIN))
#: Every section, in the order they run (`--sections` picks some).
SECTIONS = ("burst", "latency", "first_byte", "memory", "concurrency")


async def run_all(
    modes: Sequence[str],
    sizes: Sizes,
    work: Path,
    log: Callable[[str], None],
    sections: Sequence[str] = SECTIONS,
) -> dict[str, Any]:
    """Start every devkit at once (start-up is most of a quick run), then measure one
    install method after the other (the idle ones wait), then stop them all."""
    config = devkit_config(sizes)
    wanted = [(mode, plugin, directory) for mode in modes for plugin, directory in PLUGINS]
    log(f"starting {len(wanted)} devkits ({', '.join(f'{p} {m}' for m, p, _ in wanted)})")
    started = await asyncio.gather(
        *(
            asyncio.to_thread(start_devkit, directory, config, mode=mode, workdir=work / f"{mode}-{plugin}")
            for mode, plugin, directory in wanted
        ),
        return_exceptions=True,
    )
    try:
        devkits: dict[tuple[str, str], RunningDevkit] = {}
        for (mode, plugin, _), outcome in zip(wanted, started, strict=True):
            if isinstance(outcome, BaseException):
                raise outcome
            devkits[(mode, plugin)] = outcome
        results: dict[str, Any] = {}
        for mode in modes:
            results[mode] = await run_mode(mode, {p: devkits[(mode, p)] for p, _ in PLUGINS}, sizes, log, sections)
        return results
    finally:
        await asyncio.gather(*(asyncio.to_thread(d.stop) for d in started if isinstance(d, RunningDevkit)))


async def run_mode(
    mode: str,
    devkits: dict[str, RunningDevkit],
    sizes: Sizes,
    log: Callable[[str], None],
    sections: Sequence[str] = SECTIONS,
) -> dict[str, Any]:
    """The `sections` (default: all) in one install method (`local` = stdio, or `serverless`)."""
    plugins = {name: PluginProcess(devkit) for name, devkit in devkits.items()}
    connector = aiohttp.TCPConnector(limit=sizes.streams + 50)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        bench = Bench(sizes, {k: f"{d.base_url}/e/" for k, d in devkits.items()}, plugins, http, log)
        await bench.warm_up()
        idle = {name: p.rss_mib() for name, p in plugins.items()}
        result: dict[str, Any] = {"plugin_pids": {n: p.process().pid for n, p in plugins.items()}}
        paced: dict[str, list[float]] = {}
        seq: dict[str, Any] = {}
        seq_curves: dict[str, list[tuple[int, float]]] = {}
        conc_delays: dict[str, list[float]] = {}
        rss_curves: dict[str, list[tuple[float, float]]] = {}
        if "burst" in sections:
            log(f"[{mode}] 1. burst throughput ({sizes.burst_events} events)")
            result["burst"] = await bench.burst()
        if "latency" in sections:
            log(f"[{mode}] 2. added latency ({sizes.paced_events} events at {sizes.paced_rate:g}/s)")
            result["latency"], paced = await bench.latency()
        if "first_byte" in sections:
            log(f"[{mode}] 3. first byte (first event after {sizes.first_event_delay:g} s)")
            result["first_byte"] = await bench.first_byte()
        # the sequential requests before the concurrency run: the heap the streams leave
        # behind would otherwise hide a growth per request
        if "memory" in sections:
            log(f"[{mode}] 5. memory ({sizes.sequential} sequential requests)")
            seq, seq_curves = await bench.sequential()
        if "concurrency" in sections:
            log(f"[{mode}] 4. concurrency ({sizes.streams} streams at {sizes.stream_rate:g} events/s)")
            result["concurrency"], conc_delays, rss_curves = await bench.concurrency()
        after_conc = {name: p.rss_mib() for name, p in plugins.items()}
    result["_plot"] = {"paced": paced, "concurrency": conc_delays, "rss": rss_curves, "sequential": seq_curves}
    if "memory" not in sections:
        return result
    result["memory"] = {
        "gallery": {
            "idle_rss_mib": idle["gallery"],
            "after_concurrency_rss_mib": after_conc["gallery"],
            **seq[GALLERY_WORKFLOW.label],
        },
        "raw": {
            "idle_rss_mib": idle["baseline"],
            "after_concurrency_rss_mib": after_conc["baseline"],
            **seq[raw("workflow").label],
        },
    }
    return result


# --- output -------------------------------------------------------------------------------------


def _f(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def table(results: dict[str, dict[str, Any]]) -> str:
    """The five sections, one column per install method."""
    modes = list(results)
    lines: list[str] = []

    def row(name: str, values: list[str]) -> None:
        lines.append(f"  {name:<46}" + "".join(f"{v:>16}" for v in values))

    def section(title: str) -> None:
        lines.append("")
        lines.append(title)
        row("", ["stdio" if m == "local" else m for m in modes])

    ran = results[modes[0]]
    if "burst" in ran:
        section("1. burst throughput (events/s; ratio to (a) raw pass-through, (b) docs' example)")
    for label in ran.get("burst", {}):
        row(f"{label} events/s", [_f(results[m]["burst"][label]["events_per_s"], ".0f") for m in modes])
        row("   vs (a) raw", [_f(results[m]["burst"][label]["vs_raw"]) + "x" for m in modes])
        row("   vs (b) docs", [_f(results[m]["burst"][label]["vs_docs"]) + "x" for m in modes])
    if "latency" in ran:
        section("2. added latency, paced (ms; gallery minus (a) raw)")
    for label in ran.get("latency", {}):
        row(f"{label} added p50", [_f(results[m]["latency"][label]["added_p50_ms"], ".3f") for m in modes])
        row(f"{label} added p99", [_f(results[m]["latency"][label]["added_p99_ms"], ".3f") for m in modes])
        row(
            "   p99 (gallery / raw)",
            [
                f"{_f(results[m]['latency'][label]['p99_ms'])}/{_f(results[m]['latency'][label]['raw_p99_ms'])}"
                for m in modes
            ],
        )
    if "first_byte" in ran:
        section("3. time to first byte, first app event after 2 s (ms)")
    for label in ran.get("first_byte", {}):
        row(label, [_f(results[m]["first_byte"][label]["first_byte_ms"], ".1f") for m in modes])
    if "concurrency" in ran:
        _concurrency_rows(results, section, row)
    if "memory" in ran:
        _memory_rows(results, section, row)
    return "\n".join(lines)


def _concurrency_rows(
    results: dict[str, dict[str, Any]], section: Callable[[str], None], row: Callable[[str, list[str]], None]
) -> None:
    modes = list(results)
    section("4. concurrency (gallery /workflow vs (a) raw, same load)")
    c = {m: results[m]["concurrency"] for m in modes}
    row("streams x events/s", [f"{c[m]['streams']}x{c[m]['rate_per_stream']:g}" for m in modes])
    row("errors (gallery / raw)", [f"{c[m]['errors']}/{c[m]['raw_errors']}" for m in modes])
    row("p50 ms (gallery / raw)", [f"{_f(c[m]['p50_ms'])}/{_f(c[m]['raw_p50_ms'])}" for m in modes])
    row("p99 ms (gallery / raw)", [f"{_f(c[m]['p99_ms'])}/{_f(c[m]['raw_p99_ms'])}" for m in modes])
    row("p99 vs raw", [_f(c[m]["p99_vs_raw"]) + "x" for m in modes])
    row("peak RSS MiB (gallery / raw)", [f"{c[m]['peak_rss_mib']:.0f}/{c[m]['raw_peak_rss_mib']:.0f}" for m in modes])
    row("CPU s per 1,000 events (gallery)", [_f(c[m]["cpu_s_per_1000_events"], ".3f") for m in modes])
    row("   vs raw", [_f(c[m]["cpu_vs_raw"]) + "x" for m in modes])


def _memory_rows(
    results: dict[str, dict[str, Any]], section: Callable[[str], None], row: Callable[[str, list[str]], None]
) -> None:
    modes = list(results)
    section("5. memory (plugin RSS, MiB; sequential requests run before the concurrency)")
    for who in ("gallery", "raw"):
        mem = {m: results[m]["memory"][who] for m in modes}
        row(f"{who}: idle", [_f(mem[m]["idle_rss_mib"], ".1f") for m in modes])
        row(f"{who}: after the sequential requests", [_f(mem[m]["rss_after_mib"], ".1f") for m in modes])
        row(f"{who}:    growth per 100 requests", [_f(mem[m]["growth_mib_per_100_requests"], "+.2f") for m in modes])
        row(f"{who}: after the concurrency run", [_f(mem[m]["after_concurrency_rss_mib"], ".1f") for m in modes])


def _legend(ax: Any) -> None:
    """A legend, unless the panel is empty (a section `--sections` left out)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    """Latency distributions (CDFs) of the gallery vs the baselines, RSS over the
    concurrency run, RSS over the sequential requests; one row per install method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(results)
    fig, axes = plt.subplots(len(modes), 4, figsize=(22, 5 * len(modes)), squeeze=False)
    for row_axes, mode in zip(axes, modes, strict=True):
        data = results[mode]["_plot"]
        name = "stdio" if mode == "local" else mode
        for ax, key, title in ((row_axes[0], "paced", "paced"), (row_axes[1], "concurrency", "concurrent streams")):
            for label, values in data[key].items():
                if values:
                    ordered = sorted(values)
                    ax.plot(ordered, [i / len(ordered) for i in range(1, len(ordered) + 1)], label=label)
            ax.set_xscale("log")
            ax.set_xlabel("per-event delay (ms, log)")
            ax.set_ylabel("fraction of events")
            ax.set_title(f"{name}: per-event delay, {title}")
            _legend(ax)
        for label, samples in data["rss"].items():
            row_axes[2].plot([t for t, _ in samples], [m for _, m in samples], label=label)
        row_axes[2].set_xlabel("s since the streams started")
        row_axes[2].set_ylabel("plugin RSS (MiB)")
        row_axes[2].set_title(f"{name}: RSS during the concurrency run")
        _legend(row_axes[2])
        for label, curve in data["sequential"].items():
            row_axes[3].plot([n for n, _ in curve], [m for _, m in curve], label=label)
        row_axes[3].set_xlabel("sequential requests")
        row_axes[3].set_ylabel("plugin RSS (MiB)")
        row_axes[3].set_title(f"{name}: RSS over sequential requests")
        _legend(row_axes[3])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def targets(results: dict[str, dict[str, Any]], memory_limit_mib: float) -> dict[str, Any]:
    """Where each of issue #11's targets stands, measured (stdio; serverless alongside)."""
    out: dict[str, Any] = {}
    for mode, r in results.items():
        stands: dict[str, Any] = {}
        if "burst" in r:
            wf = r["burst"][GALLERY_WORKFLOW.label]
            stands["burst_vs_raw >= 0.9"] = wf["vs_raw"]
        if "latency" in r:
            stands["added_p99_ms <= 1"] = r["latency"][GALLERY_WORKFLOW.label]["added_p99_ms"]
        if "first_byte" in r:
            stands["first_byte_ms <= 50"] = max(
                v["first_byte_ms"] or float("inf") for k, v in r["first_byte"].items() if k.startswith("gallery")
            )
        if "concurrency" in r:
            conc = r["concurrency"]
            stands["concurrency_errors == 0"] = conc["errors"]
            stands["concurrency_p99_vs_raw <= 1.25"] = conc["p99_vs_raw"]
            stands[f"peak_rss_mib <= {memory_limit_mib:.0f}"] = conc["peak_rss_mib"]
        if "burst" in r:
            stands["burst_vs_docs >= 2"] = wf["vs_docs"]
            stands["burst_vs_raw >= 1.5"] = wf["vs_raw"]
        out[mode] = stands
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run (< 1 minute), e.g. for the smoke test")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for bench.json and bench.png")
    parser.add_argument("--modes", default="local,serverless", help="install methods, comma-separated")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"sections to run, comma-separated (default: all of {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds of the burst and concurrency sections (overrides the size's)"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    sections = [name for name in args.sections.split(",") if name]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    if args.rounds is not None:
        sizes = replace(sizes, burst_rounds=args.rounds, stream_rounds=args.rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"{time.monotonic() - started:7.1f}s  {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        results = asyncio.run(run_all(args.modes.split(","), sizes, Path(work), log, sections))
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    memory_limit = manifest["resource"]["memory"] / 2**20
    report = {
        "command": " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "sizes": asdict(sizes),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average_at_end": list(psutil.getloadavg()),
        },
        "seconds": round(time.monotonic() - started, 1),
        "manifest_memory_mib": memory_limit,
        "results": {mode: {k: v for k, v in r.items() if k != "_plot"} for mode, r in results.items()},
        "targets": targets(results, memory_limit),
    }
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    plot(results, args.out / "bench.png")
    print(table(results))
    print(f"\nwritten: {args.out / 'bench.json'}, {args.out / 'bench.png'} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
