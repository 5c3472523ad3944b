"""The built .difypkg is complete: the devkit runs the plugin from it and every route
answers its `make dev` example; and it holds nothing of the development setup."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dify_plugin_devkit import build_package
from dify_plugin_devkit.testing import RunningDevkit, start_devkit
from tests.conftest import DEV_CONFIG, ROOT, Example, dev_examples, manifest

#: Top-level folders and files of the repository that are development-only.
DEVELOPMENT_ONLY = {
    "devkit",
    "tests",
    "dev",
    ".venv",
    ".cache",
    ".ci",
    "dist",
    "Makefile",
    ".gitignore",
    ".devkit-state",
    "bench",
    "BENCHMARKS.md",
    "TESTING.md",
    "docs",
}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(ROOT, tmp_path_factory.mktemp("dist"), log=lambda *_: None)


@pytest.fixture(scope="module")
def from_package(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    workdir = tmp_path_factory.mktemp("run")
    devkit = start_devkit(ROOT, DEV_CONFIG, workdir=workdir, extra_args=("--package", str(package)))
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
    assert ".env" not in names
    assert not any("__pycache__" in n for n in names)


def test_exported_requirements_name_the_sdk_and_no_dev_tool(package: Path) -> None:
    requirements = zipfile.ZipFile(package).read("requirements.txt").decode()
    assert "dify-plugin==" in requirements
    for dev_only in ("dify-plugin-devkit", "pytest", "hypothesis", "aiohttp", "ruff", "mypy", "httpx-sse", "uv=="):
        assert dev_only not in requirements, dev_only


@pytest.mark.parametrize("example", dev_examples(), ids=lambda ex: f"{ex.method} {ex.path}")
def test_every_route_answers_from_the_package(
    from_package: RunningDevkit, client: httpx.Client, example: Example
) -> None:
    """Every example of dev/devkit.yaml, sent to the plugin run from its package."""
    response = example.send(from_package.base_url, client)
    assert response.status_code == 200, response.text[:300]
    assert response.content
