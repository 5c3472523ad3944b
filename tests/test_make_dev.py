"""`make dev`: prints a working URL and curl line for every route, and Ctrl-C leaves no
process behind.

Shared by every copy of the template: the routes, instances and examples come from the
manifest, the group file and `dev/devkit.yaml` (tests/conftest.py), never from literals.
An example whose instance sends headers (`example_headers`, or a signature computed by
`example_signature`) is also sent without them, and must be refused with a 401."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from dify_plugin_devkit.testing import pid_alive
from tests.conftest import DEV_CONFIG, ROOT, dev_examples, manifest, read_yaml, run_curl_line


def test_make_dev_prints_urls_and_curl_lines_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = 5600 + os.getpid() % 300
    examples = dev_examples(every_instance=True)
    # a request that needs its headers (an API key, a signature): a body-carrying one, since a
    # GET example may carry its key in the query string too
    guarded = next((ex for ex in examples if ex.headers and ex.method != "GET"), None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        banner = "".join(lines)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=30) as client:
            for ex in examples:
                path, query = ex.target
                url = f"{base}/e/{ex.hook_id}{path}"
                headers = "".join(f" -H {shlex.quote(f'{k}: {v}')}" for k, v in ex.headers)
                if ex.method == "GET":
                    assert f"curl -N{headers} '{url}{query}'" in banner
                elif ex.multipart:
                    assert f"curl -N -X {ex.method}{headers} '{url}' {ex.example}\n" in banner
                else:
                    assert f"curl -N -X {ex.method} '{url}'{headers} -H" in banner
                    assert f"-d '{ex.example or '{}'}'" in banner
                response = ex.send(base, client)
                assert response.status_code == 200, f"{ex}: {response.status_code} {response.text[:300]}"
        # every curl line printed works exactly as printed, and nothing else is printed as an example
        printed = [line.strip() for line in lines if line.strip().startswith("curl ")]
        assert len(printed) == len(examples)
        for line in printed:
            assert "OPTIONS" not in line
            done = run_curl_line(line)
            assert done.stdout == "200", f"{line}\n{done.stderr}"
        # a route an instance leaves unset (a null example) is listed as such, never as working
        listed = [line for line in lines if "not set up on this endpoint (no example):" in line]
        for route in unset_routes():
            assert any(route in line for line in listed), f"{route} is not listed as not set up"
        # other tests' devkits may run the gallery too (and start while this one runs): ours are
        # those in the session `make dev` leads
        ours = set(plugin_processes(ROOT, session=process.pid))
        assert ours, "make dev should have started the plugin"
        # `/` lists every endpoint instance; polls are not logged, other requests are
        with httpx.Client(timeout=30) as client:
            page = client.get(f"{base}/")
            assert client.get(f"{base}/health/check").status_code == 200
            if guarded is not None:  # without the key or the signature it is refused
                assert replace(guarded, headers=()).send(base, client).status_code == 401
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        for instance in read_yaml(DEV_CONFIG)["endpoints"]:
            assert f"<code>{instance['hook_id']}</code>" in page.text
        # a second `make dev` on the same port names it and suggests another
        busy = subprocess.run(
            ["make", "--no-print-directory", "dev", f"PORT={port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert busy.returncode != 0
        assert f"error: port {port} on 127.0.0.1 is already in use" in busy.stderr, busy.stderr
        assert f"`make dev PORT={port + 1}`" in busy.stderr
        assert "Errno" not in busy.stderr
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rest, _ = process.communicate(timeout=20)
    assert "[devkit] stopping" in rest
    log = [line for line in rest.splitlines() if line.startswith("[http] ")]
    for ex in examples:  # every request is logged with its status (the concrete path, no query)
        logged = f"[http] {ex.method} /e/{ex.hook_id}{ex.target[0]} 200 "
        assert any(line.startswith(logged) for line in log), (ex, log)
    if (manifest().get("resource") or {}).get("permission", {}).get("app", {}).get("enabled"):
        assert any(re.search(r" 200 \d+ ms \(\d+ app calls?\)$", line) for line in log), log
    if guarded is not None:
        refused = f"[http] {guarded.method} /e/{guarded.hook_id}{guarded.path} 401 "
        assert any(line.startswith(refused) for line in log), log
    assert any(re.fullmatch(r"\[http\] GET / 200 \d+ ms", line) for line in log), log
    assert not [line for line in log if "/health/check" in line]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health/check", timeout=2)
    assert not [pid for pid in ours if pid_alive(pid)]


def unset_routes() -> set[str]:
    """The routes an instance of dev/devkit.yaml leaves unset (its example is null)."""
    return {
        route
        for instance in read_yaml(DEV_CONFIG)["endpoints"]
        for route, example in (instance.get("examples") or {}).items()
        if example is None and not route.startswith("OPTIONS ")
    }


def plugin_processes(root: Path, session: int) -> list[int]:
    """Pids of `python -m main` processes running in `root` (the gallery plugin) in `session`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
            # after "comm) ": state, ppid, process group, session
            sid = int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[3])
        except (OSError, IndexError, ValueError):
            continue
        if cmdline[1:3] == [b"-m", b"main"] and Path(cwd) == root and sid == session and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found
