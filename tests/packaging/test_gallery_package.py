"""The built .difypkg is complete: the devkit runs the gallery from it, every route answers."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from devkit.package import build_package
from tests.conftest import ROOT, RunningDevkit, start_devkit

CONFIG = """
endpoints:
  - hook_id: pkg
    settings: {chat_app: demo-chat-echo, workflow_app: demo-workflow, completion_app: demo-completion}
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(ROOT, tmp_path_factory.mktemp("dist"), log=lambda *_: None)


@pytest.fixture(scope="module")
def from_package(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(tmp_path_factory.mktemp("run"), CONFIG, extra_args=("--package", str(package)))
    yield devkit
    devkit.stop()


def test_package_holds_the_plugin_and_nothing_of_the_dev_setup(package: Path) -> None:
    names = set(zipfile.ZipFile(package).namelist())
    assert {"manifest.yaml", "main.py", "group/gallery.yaml", "_assets/icon.svg", "requirements.txt", "PRIVACY.md"} <= names
    assert {"endpoints/duck.py", "endpoints/runner.py", "provider/apps.py"} <= names
    assert not {n for n in names if n.split("/")[0] in {"devkit", "tests", ".venv", ".cache", "scripts", ".ci", "dist"}}
    assert ".env" not in names and not any("__pycache__" in n for n in names)


def test_duck_answers_from_the_package(from_package: RunningDevkit, client: httpx.Client) -> None:
    page = client.get(from_package.url("pkg", "/duck"), params={"query": "packaged"})
    assert 'id="answer">Turn 1: packaged</div>' in page.text
    assert client.post(from_package.url("pkg", "/duck"), data={"query": "posted"}).status_code == 200


@pytest.mark.parametrize(("route", "inputs", "last"), [
    ("/workflow", {"topic": "t"}, "workflow_finished"),
    ("/completion", {"name": "n"}, "message_end"),
])
def test_runners_answer_from_the_package(from_package: RunningDevkit, client: httpx.Client, route: str, inputs: dict, last: str) -> None:
    with connect_sse(client, "POST", from_package.url("pkg", route), json={"inputs": inputs}) as source:
        assert [e.event for e in source.iter_sse()][-1] == last
    with connect_sse(client, "GET", from_package.url("pkg", route), params={"inputs": json.dumps(inputs)}) as source:
        assert [e.event for e in source.iter_sse()][-1] == last
