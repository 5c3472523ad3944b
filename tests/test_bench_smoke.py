"""`make bench` keeps working: its QUICK run finishes and writes what it promises.

Nothing here is about time: a benchmark reports, it does not assert (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SECTIONS = ("burst", "latency", "first_byte", "concurrency", "memory")


@pytest.mark.timeout(300)
def test_the_quick_bench_runs_and_writes_its_json_and_png(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["results"]) == {"local", "serverless"}
    for mode in ("local", "serverless"):
        assert set(SECTIONS) <= set(report["results"][mode])
        assert set(report["targets"][mode])
    assert report["results"]["local"]["concurrency"]["errors"] == 0
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")
    for title in ("1. burst throughput", "2. added latency", "3. time to first byte", "4. concurrency", "5. memory"):
        assert title in done.stdout
