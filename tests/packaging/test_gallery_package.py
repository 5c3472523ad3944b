"""The built .difypkg is complete: the devkit runs the plugin from it, every route answers;
and it holds nothing of the development setup."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from dify_plugin_devkit import build_package
from dify_plugin_devkit.testing import RunningDevkit, start_devkit
from tests.conftest import ROOT, manifest

CONFIG = {
    "endpoints": [
        {"hook_id": "pkg", "settings": {"chat_app": "demo-chat-echo", "workflow_app": "demo-workflow",
                                        "completion_app": "demo-completion"}},
    ],
}
#: Top-level folders and files of the repository that are development-only.
DEVELOPMENT_ONLY = {"devkit", "tests", "dev", ".venv", ".cache", ".ci", "dist", "Makefile", ".gitignore"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(ROOT, tmp_path_factory.mktemp("dist"), log=lambda *_: None)


@pytest.fixture(scope="module")
def from_package(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    devkit = start_devkit(ROOT, CONFIG, workdir=tmp_path_factory.mktemp("run"), extra_args=("--package", str(package)))
    yield devkit
    devkit.stop()


def test_package_is_named_after_the_manifest(package: Path) -> None:
    assert package.name == f"{manifest()['name']}-{manifest()['version']}.difypkg"


def test_package_holds_the_plugin_and_nothing_of_the_dev_setup(package: Path) -> None:
    names = set(zipfile.ZipFile(package).namelist())
    groups = manifest()["plugins"]["endpoints"]
    assert {"manifest.yaml", "main.py", *groups, f"_assets/{manifest()['icon']}", "requirements.txt"} <= names
    assert {"pyproject.toml", "uv.lock", "PRIVACY.md", "README.md", ".env.example"} <= names
    assert not {n for n in names if n.split("/")[0] in DEVELOPMENT_ONLY}
    assert ".env" not in names and not any("__pycache__" in n for n in names)


def test_exported_requirements_name_the_sdk_and_no_dev_tool(package: Path) -> None:
    requirements = zipfile.ZipFile(package).read("requirements.txt").decode()
    assert "dify-plugin==" in requirements
    for dev_only in ("dify-plugin-devkit", "pytest", "hypothesis", "aiohttp", "ruff", "mypy", "httpx-sse", "uv=="):
        assert dev_only not in requirements, dev_only


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
