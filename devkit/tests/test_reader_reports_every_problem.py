"""The declaration reader reports every problem of a plugin at once, not the first one.

A real Dify shows one refusal at a time, minutes apart; the reader goes on after
each problem, through every subject (manifest, settings, endpoints, sources,
dependency files), and the runner gets the same full list. A plugin without
problems yields the parsed values the runner serves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support import GOOD_PLUGIN

from dify_plugin_devkit import DeclarationError
from dify_plugin_devkit._declarations import Route, load_plugin, read_plugin


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "plugin"
    shutil.copytree(GOOD_PLUGIN, root)
    return root


def edit(path: Path, key: str, value: object, index: int | None = None) -> None:
    data = yaml.safe_load(path.read_text())
    (data if index is None else data["settings"][index])[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def break_five_ways(root: Path) -> None:
    edit(root / "manifest.yaml", "name", "Bad Name")
    edit(root / "group" / "good.yaml", "type", "password", index=1)
    edit(root / "endpoints" / "hello_post.yaml", "method", "FETCH")
    (root / "endpoints" / "hello.py").write_text("from dify_plugin import Endpoint\n\nclass Hello(Endpoint)\n")
    (root / "requirements.txt").unlink()


EXPECTED = {
    ("manifest.yaml", "name"),
    ("group/good.yaml", "settings[api_key].type"),
    ("endpoints/hello_post.yaml", "method"),
    ("endpoints/hello.py", "(python)"),
    ("requirements.txt", "(file)"),
}


def test_every_problem_is_reported_in_one_read(plugin: Path) -> None:
    break_five_ways(plugin)
    declarations = read_plugin(plugin)
    assert {(p.path, p.field) for p in declarations.problems} == EXPECTED
    assert len(declarations.problems) == len(EXPECTED)
    assert declarations.manifest is None  # the SDK refused it; the reader went on


def test_the_runner_is_refused_with_the_same_full_list(plugin: Path) -> None:
    break_five_ways(plugin)
    with pytest.raises(DeclarationError) as raised:
        load_plugin(plugin)
    assert {(p.path, p.field) for p in raised.value.problems} == EXPECTED
    assert len(str(raised.value).splitlines()) == len(EXPECTED)


def test_a_good_plugin_gives_the_runner_the_values_that_were_checked(plugin: Path) -> None:
    info = load_plugin(plugin)
    assert info.root == plugin.resolve()
    assert (info.name, info.entrypoint, info.app_permission) == ("good_plugin", "main", True)
    assert [s.name for s in info.settings] == ["chat_app", "api_key"]
    assert info.routes == (Route("GET", "/hello/<name>"), Route("POST", "/hello/<name>"))
