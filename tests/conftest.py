"""Shared fixtures of the plugin's tests.

The plugin runs behind the devkit through its pytest plugin (`dify_devkit`, from the
dify-plugin-devkit package): a real plugin process, hit over real HTTP. Tests that
are not about one route (packaging, `make dev`) take this plugin's names — its routes,
its demo endpoint instances and their example requests — from `manifest.yaml`, the
group file and `dev/devkit.yaml`, never from literals, so a copy of this template
keeps them working unchanged.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis: `make test` (and CI) runs the fuzz derandomised, so that a failure comes
# back with the same examples on the next run; HYPOTHESIS_PROFILE=random draws new ones
DEFAULT_PROFILE = "derandomized"
settings.register_profile(DEFAULT_PROFILE, derandomize=True, database=None, print_blob=True)
# (`make fuzz`): failures it finds are kept in tests/robustness/hypothesis-db, committed,
# and replayed first on every later random run
settings.register_profile(
    "random",
    derandomize=False,
    print_blob=True,
    database=DirectoryBasedExampleDatabase(ROOT / "tests" / "robustness" / "hypothesis-db"),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", DEFAULT_PROFILE))
FIXTURES = ROOT / "tests" / "fixtures"
#: What a real Dify 1.13.2 answered (vendored from ../shared/real-dify-1.13.2/; its README
#: says what each case is): `inner-api/` as a plugin receives it, `service-api/` as a client does.
RECORDED = ROOT / "devkit" / "tests" / "fixtures" / "real-dify-1.13.2"
#: The demo configuration `make dev` runs.
DEV_CONFIG = ROOT / "dev" / "devkit.yaml"


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def run_curl_line(line: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a curl line exactly as a page or `make dev` printed it (with bash, so its
    quoting and `$API_KEY` work as in a terminal); `stdout` is the HTTP status it got."""
    return subprocess.run(
        ["bash", "-c", f"{line} -sS -o /dev/null -w '%{{http_code}}'"],
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def inner_api_events(case: str) -> list[dict[str, Any]]:
    """The events of an inner-API recording (`inner-api/<case>.frames.jsonl`): what a
    plugin receives inside Dify."""
    lines = (RECORDED / "inner-api" / f"{case}.frames.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["data"] for line in lines]


def service_api_events(case: str) -> list[dict[str, Any]]:
    """The events of a Service API recording (`service-api/<case>.body`, its `data:`
    lines; pings left out)."""
    body = (RECORDED / "service-api" / f"{case}.body").read_text(encoding="utf-8")
    events = [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]
    return [event for event in events if event.get("event") != "ping"]


def manifest() -> dict[str, Any]:
    """The plugin's manifest.yaml."""
    return read_yaml(ROOT / "manifest.yaml")


def routes() -> list[tuple[str, str]]:
    """(METHOD, path) of every route the plugin's endpoint group declares (Dify keeps
    only the last group of a plugin)."""
    group = read_yaml(ROOT / manifest()["plugins"]["endpoints"][-1])
    found = []
    for entry in group["endpoints"]:
        declaration = read_yaml(ROOT / entry) if isinstance(entry, str) else entry
        found.append((str(declaration["method"]).upper(), str(declaration["path"])))
    return found


#: The Content-Type curl's -F gives a file, by extension (its own small table; anything
#: else is application/octet-stream).
CURL_TYPES = {
    "gif": "image/gif", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "svg": "image/svg+xml",
    "txt": "text/plain", "htm": "text/html", "html": "text/html", "pdf": "application/pdf", "xml": "application/xml",
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    """One example request of `dev/devkit.yaml`, as `make dev` prints it."""

    hook_id: str
    method: str
    path: str
    example: str  # a query string ("?q=1") for GET; a JSON body, or curl's -F arguments, otherwise
    headers: tuple[tuple[str, str], ...] = ()  # the instance's `example_headers`, then its signature

    @property
    def multipart(self) -> bool:
        return self.method != "GET" and self.example.startswith("-F ")

    @property
    def target(self) -> tuple[str, str]:
        """(path, query string) of a GET: a path with parameters (`/v1/models/<model_id>`)
        takes its example as the concrete path, as `make dev` prints it."""
        if self.method == "GET" and "<" in self.path and self.example.startswith("/"):
            path, mark, query = self.example.partition("?")
            return path, mark + query
        return self.path, self.example

    def send(self, base_url: str, client: httpx.Client) -> httpx.Response:
        """Send it exactly as the printed curl line does (run in the plugin folder)."""
        path, example = self.target
        url = f"{base_url}/e/{self.hook_id}{path}"
        if self.method == "GET":
            return client.get(url + example, headers=dict(self.headers))
        if self.multipart:
            words = shlex.split(self.example)
            fields = [word.split("=", 1) for flag, word in zip(words[::2], words[1::2], strict=True) if flag == "-F"]
            files = [
                (name, (Path(value[1:]).name, (ROOT / value[1:]).read_bytes(), _curl_type(value[1:])))
                for name, value in fields
                if value.startswith("@")
            ]
            data = {name: value for name, value in fields if not value.startswith("@")}
            return client.request(self.method, url, files=files, data=data, headers=dict(self.headers))
        headers = {**dict(self.headers), "Content-Type": "application/json"}
        return client.request(self.method, url, content=self.example or "{}", headers=headers)


def _curl_type(path: str) -> str:
    return CURL_TYPES.get(path.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def signed_example_header(instance: dict[str, Any], method: str, example: str) -> tuple[tuple[str, str], ...]:
    """The signature header an instance's `example_signature` adds to an example
    (devkit/README.md): the kit's own signer (`provider.signatures.sign`) over the exact
    body the printed curl line sends, so that `make dev`'s line and the route agree."""
    declared = instance.get("example_signature")
    if not declared:
        return ()
    from provider import signatures  # the kit: only a plugin with signed examples needs it here

    body = b"" if method == "GET" else (example or "{}").encode("utf-8")
    secret = instance["settings"][declared["secret_setting"]]
    prefix = declared.get("prefix", signatures.DEFAULT_PREFIX)
    return ((declared.get("header", signatures.DEFAULT_HEADER), signatures.sign(secret, body, prefix=prefix)),)


def dev_examples(every_instance: bool = False) -> list[Example]:
    """The example request of every route on the first endpoint instance of
    dev/devkit.yaml (its own examples first, then the file's), or on every instance.
    Routes `make dev` does not print are left out: OPTIONS (browsers' CORS preflights),
    routes whose example is null (not set up on that instance) and, on an instance with
    `example_signature`, multipart examples (no signature can be printed for them)."""
    config = read_yaml(DEV_CONFIG)
    shared = config.get("examples") or {}
    found = []
    for instance in config["endpoints"] if every_instance else config["endpoints"][:1]:
        own = instance.get("examples") or {}
        headers = tuple((instance.get("example_headers") or {}).items())
        for method, path in routes():
            name = f"{method} {path}"
            # no example: only a GET route without path variables is printed (its bare URL)
            bare = "" if method == "GET" and "<" not in path else None
            example = own[name] if name in own else shared.get(name, bare)
            if method == "OPTIONS" or example is None:
                continue
            if instance.get("example_signature") and method != "GET" and example.startswith("-F "):
                continue
            signed = headers + signed_example_header(instance, method, example)
            found.append(Example(instance["hook_id"], method, path, example, signed))
    return found


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(30.0)) as c:
        yield c


#: The files that take longest (each is one xdist work unit under `--dist loadfile`):
#: started first, so that they run beside the many short files instead of alone at the
#: end of `make test` (longest-first scheduling). A file not here keeps its place.
SLOW_FIRST = (
    "tests/test_template_copy.py",  # builds a copy and runs its make check/lint/test/package
    "tests/test_bench_smoke.py",  # the quick bench: two plugins, both install methods
    "tests/robustness/test_soak.py",
    "tests/browser/",
)


def _slow_rank(item: pytest.Item) -> int:
    path = Path(str(item.path)).relative_to(ROOT).as_posix()
    return next((rank for rank, slow in enumerate(SLOW_FIRST) if path.startswith(slow)), len(SLOW_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The known-slow files first, then the files with the most tests (what xdist's own
    reordering does, which `make test` turns off with --no-loadscope-reorder so that this
    order holds); a file's tests keep pytest's order."""
    per_file = Counter(item.path for item in items)
    items.sort(key=lambda item: (_slow_rank(item), -per_file[item.path]))
