"""devkit.check reports, one line each, what the SDK or Dify's daemon would refuse.

Each broken plugin is the `good` fixture copied into tmp_path with one thing
broken, so every rule is proven by its own small test.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import GOOD_PLUGIN as GOOD

from dify_plugin_devkit._cli import main
from dify_plugin_devkit._declarations import Problem, check_plugin, inspect_plugin

Yaml = dict[str, Any]


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    """A fresh, valid copy of the `good` fixture plugin."""
    root = tmp_path / "plugin"
    shutil.copytree(GOOD, root)
    return root


def edit_yaml(path: Path, change: Callable[[Yaml], Any]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def manifest(root: Path, change: Callable[[Yaml], Any]) -> None:
    edit_yaml(root / "manifest.yaml", change)


def group(root: Path, change: Callable[[Yaml], Any]) -> None:
    edit_yaml(root / "group" / "good.yaml", change)


def endpoint(root: Path, change: Callable[[Yaml], Any], name: str = "hello.yaml") -> None:
    edit_yaml(root / "endpoints" / name, change)


def only(problems: list[Problem], path: str, field: str) -> Problem:
    """The one problem reported, asserting it is about `path`/`field`."""
    assert [(p.path, p.field) for p in problems] == [(path, field)], [str(p) for p in problems]
    return problems[0]


# --- the happy path and the output format -------------------------------------------


def test_good_fixture_has_no_problems(plugin: Path) -> None:
    report = inspect_plugin(plugin)
    assert report.problems == []
    assert report.summary() == "ok: good_plugin 0.0.1: 2 endpoints, 2 settings"


def test_cli_prints_ok_line_and_exits_0(plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(plugin)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the environment ($DIFY_DEVKIT_PYTHON here: this venv), the import of main and the source
    assert lines[0].startswith(f"environment: {sys.executable} (from $DIFY_DEVKIT_PYTHON)"), lines
    assert lines[1:] == ["imports: 2 modules import in it", "ok: good_plugin 0.0.1: 2 endpoints, 2 settings"]


def test_cli_no_env_checks_the_declarations_only(plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-env", str(plugin)]) == 0
    assert capsys.readouterr().out == "ok: good_plugin 0.0.1: 2 endpoints, 2 settings\n"


def test_cli_reports_every_problem_one_line_each_and_exits_1(plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest(plugin, lambda m: m.update(name="Bad Name", icon="nope.svg"))
    endpoint(plugin, lambda e: e.update(method="FETCH"))
    (plugin / "endpoints" / "hello.py").unlink()

    assert main(["check", str(plugin)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5  # name, icon, method, and the source named by both yamls
    for line in lines:
        assert line.startswith(str(plugin) + "/"), line
        assert line.count(" — ") == 1, line
    assert any("manifest.yaml: name: 'Bad Name' does not match" in line for line in lines)


def test_problem_line_is_path_field_message_dash_fix() -> None:
    problem = Problem("endpoints/a.py", "Endpoint subclass", "none", "add one", line=3)
    assert str(problem) == "endpoints/a.py:3: Endpoint subclass: none — add one"
    assert problem.format("plug") == "plug/endpoints/a.py:3: Endpoint subclass: none — add one"


# --- manifest -------------------------------------------------------------------------


def test_missing_manifest_is_reported(plugin: Path) -> None:
    (plugin / "manifest.yaml").unlink()
    assert "does not exist" in only(check_plugin(plugin), "manifest.yaml", "(file)").message


def test_manifest_yaml_syntax_error_names_the_line(plugin: Path) -> None:
    (plugin / "manifest.yaml").write_text("name: a\nlabel: [unclosed\n")
    problem = only(check_plugin(plugin), "manifest.yaml", "(yaml)")
    assert problem.line is not None


def test_bad_plugin_name_pattern(plugin: Path) -> None:
    manifest(plugin, lambda m: m.update(name="Endpoint-Gallery"))
    problem = only(check_plugin(plugin), "manifest.yaml", "name")
    assert "^[a-z0-9_-]{1,128}$" in problem.message


def test_author_with_capitals_passes_the_sdk_but_not_the_daemon(plugin: Path) -> None:
    manifest(plugin, lambda m: m.update(author="DevKit"))
    assert "lowercase" in only(check_plugin(plugin), "manifest.yaml", "author").fix


def test_version_must_be_x_y_z_for_the_daemon(plugin: Path) -> None:
    manifest(plugin, lambda m: m.update(version="1.0"))  # the SDK's packaging.Version accepts it
    only(check_plugin(plugin), "manifest.yaml", "version")


def test_unparseable_version_is_reported_once(plugin: Path) -> None:
    manifest(plugin, lambda m: m.update(version="one"))
    only(check_plugin(plugin), "manifest.yaml", "version")


def test_resource_memory_is_required(plugin: Path) -> None:
    manifest(plugin, lambda m: m["resource"].pop("memory"))
    assert only(check_plugin(plugin), "manifest.yaml", "resource.memory").message == "missing"


def test_runner_language_must_be_python(plugin: Path) -> None:
    manifest(plugin, lambda m: m["meta"]["runner"].update(language="go"))
    only(check_plugin(plugin), "manifest.yaml", "meta.runner.language")


def test_arch_values_are_amd64_or_arm64(plugin: Path) -> None:
    manifest(plugin, lambda m: m["meta"].update(arch=["amd64", "x86"]))
    only(check_plugin(plugin), "manifest.yaml", "meta.arch[1]")


def test_label_needs_en_us(plugin: Path) -> None:
    manifest(plugin, lambda m: m.update(label={"zh_Hans": "好插件"}))
    only(check_plugin(plugin), "manifest.yaml", "label.en_US")


def test_missing_icon_file(plugin: Path) -> None:
    (plugin / "_assets" / "icon.svg").unlink()
    problem = only(check_plugin(plugin), "manifest.yaml", "icon")
    assert "_assets/icon.svg does not exist" in problem.message


def test_entrypoint_module_must_exist(plugin: Path) -> None:
    (plugin / "main.py").unlink()
    only(check_plugin(plugin), "manifest.yaml", "meta.runner.entrypoint")


def test_a_dependency_file_is_required(plugin: Path) -> None:
    (plugin / "requirements.txt").unlink()
    only(check_plugin(plugin), "requirements.txt", "(file)")


# --- endpoint group ---------------------------------------------------------------------


def test_two_groups_are_refused_because_dify_keeps_only_the_last(plugin: Path) -> None:
    shutil.copy(plugin / "group" / "good.yaml", plugin / "group" / "other.yaml")
    manifest(plugin, lambda m: m["plugins"]["endpoints"].append("group/other.yaml"))
    problems = check_plugin(plugin)
    groups = [p for p in problems if p.field == "plugins.endpoints"]
    assert len(groups) == 1
    assert "keeps only the last" in groups[0].message


def test_missing_group_file(plugin: Path) -> None:
    (plugin / "group" / "good.yaml").unlink()
    only(check_plugin(plugin), "manifest.yaml", "plugins.endpoints[0]")


def test_missing_endpoint_yaml(plugin: Path) -> None:
    (plugin / "endpoints" / "hello_post.yaml").unlink()
    problem = only(check_plugin(plugin), "group/good.yaml", "endpoints[1]")
    assert "endpoints/hello_post.yaml does not exist" in problem.message


def test_unknown_key_in_a_group_is_reported(plugin: Path) -> None:
    group(plugin, lambda g: g.update(endpoint=g["endpoints"]))
    only(check_plugin(plugin), "group/good.yaml", "endpoint")


def test_bad_setting_type(plugin: Path) -> None:
    group(plugin, lambda g: g["settings"][1].update(type="password"))
    problem = only(check_plugin(plugin), "group/good.yaml", "settings[api_key].type")
    assert "'password'" in problem.message


def test_bad_app_selector_scope(plugin: Path) -> None:
    group(plugin, lambda g: g["settings"][0].update(scope="agent"))
    problem = only(check_plugin(plugin), "group/good.yaml", "settings[chat_app].scope")
    assert "all, chat, workflow, completion" in problem.fix


def test_scope_on_a_non_selector_setting_is_refused(plugin: Path) -> None:
    group(plugin, lambda g: g["settings"][1].update(scope="chat"))
    only(check_plugin(plugin), "group/good.yaml", "settings[api_key].scope")


def test_duplicate_setting_names(plugin: Path) -> None:
    group(plugin, lambda g: g["settings"][1].update(name="chat_app", type="app-selector"))
    only(check_plugin(plugin), "group/good.yaml", "settings[chat_app].name")


# --- endpoint declarations --------------------------------------------------------------


def test_missing_source_file(plugin: Path) -> None:
    (plugin / "endpoints" / "hello.py").unlink()
    problems = check_plugin(plugin)
    assert {(p.path, p.field) for p in problems} == {
        ("endpoints/hello.yaml", "extra.python.source"),
        ("endpoints/hello_post.yaml", "extra.python.source"),
    }


def test_bad_method(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.update(method="PATCH"))
    problem = only(check_plugin(plugin), "endpoints/hello.yaml", "method")
    assert "HEAD, GET, POST, PUT, DELETE, OPTIONS" in problem.fix


def test_lowercase_method_is_refused_with_the_capitalised_fix(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.update(method="get"))
    assert "GET" in only(check_plugin(plugin), "endpoints/hello.yaml", "method").fix


def test_duplicate_method_and_path(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.update(method="GET"), name="hello_post.yaml")
    problem = only(check_plugin(plugin), "endpoints/hello_post.yaml", "method")
    assert "endpoints/hello.yaml" in problem.message


def test_same_route_with_another_variable_name_is_a_duplicate(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.update(method="GET", path="/hello/<who>"), "hello_post.yaml")
    only(check_plugin(plugin), "endpoints/hello_post.yaml", "method")


def test_head_after_get_on_the_same_path_never_runs(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.update(method="HEAD"), name="hello_post.yaml")
    assert "GET" in only(check_plugin(plugin), "endpoints/hello_post.yaml", "method").message


@pytest.mark.parametrize("path", ["hello", "/hello/<name", "/hello/<nope:name>", "/<a>/<a>"])
def test_path_must_be_a_valid_werkzeug_rule(plugin: Path, path: str) -> None:
    endpoint(plugin, lambda e: e.update(path=path))
    only(check_plugin(plugin), "endpoints/hello.yaml", "path")


def test_endpoint_without_extra_is_reported(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.pop("extra"))
    only(check_plugin(plugin), "endpoints/hello.yaml", "extra")


def test_misspelt_endpoint_key_is_reported(plugin: Path) -> None:
    endpoint(plugin, lambda e: e.update(hiden=True))
    only(check_plugin(plugin), "endpoints/hello.yaml", "hiden")


# --- endpoint sources ---------------------------------------------------------------------

BASE = """
from dify_plugin import Endpoint


class GalleryEndpoint(Endpoint):
    def _invoke(self, r, values, settings):
        raise NotImplementedError
"""


def write_base(root: Path) -> None:
    (root / "provider").mkdir()
    (root / "provider" / "__init__.py").write_text("")
    (root / "provider" / "base.py").write_text(BASE)


def write_source(root: Path, text: str) -> None:
    (root / "endpoints" / "hello.py").write_text(text)


def test_imported_endpoint_base_is_a_second_subclass(plugin: Path) -> None:
    write_base(plugin)
    write_source(plugin, "from provider.base import GalleryEndpoint\n\nclass Hello(GalleryEndpoint):\n    pass\n")
    problem = only(check_plugin(plugin), "endpoints/hello.py", "Endpoint subclass")
    assert "GalleryEndpoint" in problem.message
    assert "provider/base.py" in problem.message
    assert "import the base's module" in problem.fix


def test_relative_import_of_an_endpoint_base_is_caught_too(plugin: Path) -> None:
    (plugin / "endpoints" / "base.py").write_text(BASE)
    write_source(plugin, "from .base import GalleryEndpoint as Base\n\nclass Hello(Base):\n    pass\n")
    only(check_plugin(plugin), "endpoints/hello.py", "Endpoint subclass")


def test_importing_the_base_module_instead_of_the_class_passes(plugin: Path) -> None:
    write_base(plugin)
    write_source(plugin, "from provider import base\n\nclass Hello(base.GalleryEndpoint):\n    pass\n")
    report = inspect_plugin(plugin)
    assert report.problems == []
    assert "provider/base.py" in report.files


def test_an_alias_of_the_endpoint_class_counts_twice(plugin: Path) -> None:
    text = (GOOD / "endpoints" / "hello.py").read_text() + "\nHandler = Hello\n"
    write_source(plugin, text)
    only(check_plugin(plugin), "endpoints/hello.py", "Endpoint subclass")


def test_source_without_an_endpoint_subclass(plugin: Path) -> None:
    write_source(plugin, "def handler():\n    return None\n")
    only(check_plugin(plugin), "endpoints/hello.py", "Endpoint subclass")


def test_endpoint_without_invoke_is_reported(plugin: Path) -> None:
    write_source(plugin, "from dify_plugin import Endpoint\n\nclass Hello(Endpoint):\n    pass\n")
    only(check_plugin(plugin), "endpoints/hello.py", "Hello._invoke")


def test_syntax_error_in_a_source_names_the_line(plugin: Path) -> None:
    write_source(plugin, "from dify_plugin import Endpoint\n\nclass Hello(Endpoint)\n")
    assert only(check_plugin(plugin), "endpoints/hello.py", "(python)").line == 3


# --- permissions ----------------------------------------------------------------------------


def test_endpoint_permission_must_be_enabled(plugin: Path) -> None:
    manifest(plugin, lambda m: m["resource"]["permission"]["endpoint"].update(enabled=False))
    only(check_plugin(plugin), "manifest.yaml", "resource.permission.endpoint.enabled")


def test_app_permission_needed_when_a_source_calls_session_app(plugin: Path) -> None:
    manifest(plugin, lambda m: m["resource"]["permission"].pop("app"))
    problem = only(check_plugin(plugin), "manifest.yaml", "resource.permission.app.enabled")
    assert "endpoints/hello.py:" in problem.message


def test_app_permission_found_through_an_imported_helper(plugin: Path) -> None:
    manifest(plugin, lambda m: m["resource"]["permission"].pop("app"))
    (plugin / "helpers.py").write_text("def ask(session):\n    return session.app.chat\n")
    write_source(
        plugin,
        "import helpers\nfrom dify_plugin import Endpoint\n\n"
        "class Hello(Endpoint):\n    def _invoke(self, r, values, settings):\n"
        "        return helpers.ask(self.session)\n",
    )
    problem = only(check_plugin(plugin), "manifest.yaml", "resource.permission.app.enabled")
    assert "helpers.py:2" in problem.message
