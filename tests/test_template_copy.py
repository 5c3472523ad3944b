"""Copying the template works as docs/template.md says.

A new plugin author copies the repository, renames the plugin, drops the gallery's
routes and their tests, and adds one `POST /ask` endpoint that streams a chat app's
answer as Server-Sent Events, built from the shared code in `provider/`. This test
applies those steps (docs/template.md) mechanically to a copy and runs
what the author would run there: `make check`, the copy's tests, `make package`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

NAME = "ask_plugin"

ASK_YAML = """\
path: "/ask"
method: "POST"
extra:
  python:
    source: "endpoints/ask.py"
"""

# The endpoint an author writes from the shared code (docs/template.md, step 4).
ASK_PY = '''\
"""POST /ask - a question for the chat app, answered as Server-Sent Events."""

from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response

from provider import apps, auth, http, parsing, streaming
from provider.errors import EndpointError
from provider.settings import EndpointSettings


class AskEndpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        try:
            config = EndpointSettings.parse(settings)
            auth.require_api_key(r, config.api_key)
            question = parsing.question(parsing.json_body(r, example='{"query": "..."}'))
            call = apps.AppCall(
                self.session,
                kind="chat",
                setting="chat_app",
                app_id=config.app_id("chat_app"),
                query=question.query,
                conversation_id=question.conversation_id,
                user=question.user,
            )
            return streaming.stream_app_as_sse(call, config.keepalive_seconds)
        except EndpointError as error:
            return http.json_error(error)
'''

# The author's endpoint test, written with the devkit's pytest plugin (devkit/README.md).
ASK_TEST = """\
from httpx_sse import connect_sse


def test_ask_streams_the_chat_apps_answer(dify_devkit):
    devkit = dify_devkit(settings={"chat_app": "demo-chat-echo"})
    with connect_sse(devkit.client("test"), "POST", "/ask", json={"query": "hi"}) as source:
        events = [event.json() for event in source.iter_sse()]
    assert "".join(event.get("answer", "") for event in events) == "Turn 1: hi"
    assert events[-1]["event"] == "message_end"
"""


def tracked_files(root: Path) -> list[str]:
    """What a copy of the repository holds: tracked files and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name and (root / name).is_file()]


# The copy's README: what Dify shows the owner (tests/packaging/test_readmes.py checks
# that it names the route and every setting, and ends with a Develop section).
README = """# Ask

Ask a chat app of your workspace; the answer streams as Server-Sent Events.

## Setup

Add an endpoint, choose the **Chat app**, and optionally an **API key** (callers then send
`Authorization: Bearer <key>`) and the **Keep-alive interval (seconds)**.

## Usage

`POST /ask` with `{"query": "Hello"}`.

## Develop

`make dev` runs it locally; `make test` runs its tests.
"""


def copy_repository(target: Path) -> None:
    for name in tracked_files(ROOT):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)


def edit_yaml(path: Path, change: dict) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def apply_template_steps(plugin: Path) -> None:
    """The steps of docs/template.md, in order."""
    # 1. the plugin's identity: manifest, pyproject, README, PRIVACY, the group file's name
    old_group = yaml.safe_load((plugin / "manifest.yaml").read_text())["plugins"]["endpoints"][-1]
    edit_yaml(
        plugin / "manifest.yaml",
        {
            "name": NAME,
            "author": "someone",
            "label": {"en_US": "Ask"},
            "description": {"en_US": "Ask a chat app; the answer streams as Server-Sent Events."},
            "plugins": {"endpoints": ["group/ask.yaml"]},
        },
    )
    pyproject = (plugin / "pyproject.toml").read_text()
    pyproject = pyproject.replace('name = "endpoint-gallery"', 'name = "ask-plugin"')
    (plugin / "pyproject.toml").write_text(pyproject)
    (plugin / "README.md").write_text(README)
    (plugin / "readme" / "README_zh_Hans.md").unlink()  # the manifest now declares English only
    (plugin / "PRIVACY.md").write_text("# Privacy\n\nAsk sends your question to the chat app you chose.\n")
    # 2. the gallery's routes, the code only they use, and their tests go
    (plugin / old_group).unlink()
    for path in (plugin / "endpoints").iterdir():
        path.unlink()
    shutil.rmtree(plugin / "gallery")  # the gallery's pages: one folder, deleted whole
    shutil.rmtree(plugin / "tests" / "unit" / "gallery")  # their unit tests
    shutil.rmtree(plugin / "tests" / "unit" / "endpoints")  # in-process tests of the gallery's routes
    shutil.rmtree(plugin / "tests" / "endpoints")
    shutil.rmtree(plugin / "tests" / "browser")  # the gallery's pages in a browser
    shutil.rmtree(plugin / "tests" / "robustness")  # soak, fuzz and faults on the gallery's routes
    (plugin / "tests" / "test_template_copy.py").unlink()  # this test: the template's own
    shutil.rmtree(plugin / "bench")  # the gallery's benchmark: it measures the gallery's routes
    (plugin / "docs" / "benchmarks.md").unlink()
    (plugin / "tests" / "test_bench_smoke.py").unlink()
    for path in (plugin / "tests" / "fixtures").glob("gallery*.yaml"):
        path.unlink()
    # the gallery's own code (its OpenAI-compatible exhibit) and its tests with the real clients
    shutil.rmtree(plugin / "gallery")
    shutil.rmtree(plugin / "tests" / "clients")
    (plugin / "tests" / "unit" / "test_openai_compat.py").unlink()
    # 3. the group: the settings the new route reads, and the route
    group = {
        "settings": [
            {
                "name": "chat_app",
                "type": "app-selector",
                "scope": "chat",
                "required": False,
                "label": {"en_US": "Chat app"},
            },
            {"name": "api_key", "type": "secret-input", "required": False, "label": {"en_US": "API key"}},
            {
                "name": "keepalive_seconds",
                "type": "text-input",
                "required": False,
                "default": "15",
                "label": {"en_US": "Keep-alive interval (seconds)"},
            },
        ],
        "endpoints": ["endpoints/ask.yaml"],
    }
    (plugin / "group" / "ask.yaml").write_text(yaml.safe_dump(group, sort_keys=False))
    # 4. the new endpoint: one YAML and one Python file, built from provider/
    (plugin / "endpoints" / "ask.yaml").write_text(ASK_YAML)
    (plugin / "endpoints" / "ask.py").write_text(ASK_PY)
    # 5. the demo configuration `make dev` runs, and the endpoint's test
    dev_config = {
        "endpoints": [{"hook_id": "ask", "name": "Ask (demo)", "settings": {"chat_app": "demo-chat-echo"}}],
        "examples": {"POST /ask": '{"query": "Hello"}'},
    }
    (plugin / "dev" / "devkit.yaml").write_text(yaml.safe_dump(dev_config, sort_keys=False))
    (plugin / "tests" / "test_ask.py").write_text(ASK_TEST)


def make(plugin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    # uv is already installed beside this interpreter: the copy's bootstrap need not fetch it
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=plugin,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.timeout(900)
def test_copied_template_with_one_new_sse_endpoint_checks_tests_and_packages(tmp_path: Path) -> None:
    plugin = tmp_path / "ask"
    copy_repository(plugin)
    apply_template_steps(plugin)

    checked = make(plugin, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"ok: {NAME} 0.1.0: 1 endpoints, 3 settings" in checked.stdout

    tested = make(plugin, "test", "PYTEST_ARGS=tests -q -rA -p no:cacheprovider")
    assert tested.returncode == 0, tested.stdout[-5000:] + tested.stderr[-3000:]
    assert "PASSED tests/test_ask.py::test_ask_streams_the_chat_apps_answer" in tested.stdout

    packaged = make(plugin, "package")
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    package = plugin / "dist" / f"{NAME}-0.1.0.difypkg"
    names = set(zipfile.ZipFile(package).namelist())
    assert {"endpoints/ask.py", "endpoints/ask.yaml", "group/ask.yaml", "requirements.txt"} <= names
    assert not {n for n in names if n.startswith(("devkit/", "tests/", "dev/")) or "duck" in n or "runner" in n}
