"""devkit.yaml is validated against the endpoint group's settings at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit._app import Devkit, DevkitOptions
from dify_plugin_devkit._cli import banner
from dify_plugin_devkit._config import ConfigError, load_config
from dify_plugin_devkit._declarations import load_plugin
from dify_plugin_devkit._index import index_page

DECLARATIONS = load_plugin(PROBE_PLUGIN).settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "devkit.yaml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), DECLARATIONS)
    return str(raised.value)


def test_app_selector_value_becomes_an_app_id_object(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "endpoints: [{hook_id: a, settings: {greeting: hi, app: my-app}}]"), DECLARATIONS
    )
    assert config.endpoints[0].settings == {"greeting": "hi", "app": {"app_id": "my-app"}, "loud": False}


def test_missing_required_setting_names_file_hook_and_setting(tmp_path: Path) -> None:
    message = error_for(tmp_path, "endpoints: [{hook_id: a, settings: {app: x}}]")
    assert str(tmp_path / "devkit.yaml") in message
    assert "endpoint 'a'" in message
    assert "settings.greeting: required setting is missing" in message


def test_unknown_setting_is_an_error_listing_the_declared_ones(tmp_path: Path) -> None:
    message = error_for(tmp_path, "endpoints: [{hook_id: a, settings: {greeting: hi, greting: typo}}]")
    assert "settings.greting: unknown setting" in message
    assert "'greeting'" in message


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("{greeting: 42}", "settings.greeting: expected a string"),
        ("{greeting: hi, loud: 'yes'}", "settings.loud: expected true or false"),
        ("{greeting: hi, app: [1]}", "settings.app: expected an app id"),
    ],
)
def test_wrong_type_is_an_error_naming_the_setting(tmp_path: Path, settings: str, expected: str) -> None:
    assert expected in error_for(tmp_path, f"endpoints: [{{hook_id: a, settings: {settings}}}]")


def test_duplicate_hook_ids_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    twice = "endpoints: [{hook_id: a, settings: {greeting: hi}}, {hook_id: a, settings: {greeting: hi}}]"
    assert "hook_id is used twice" in error_for(tmp_path, twice)
    assert "colour: unknown key" in error_for(tmp_path, "colour: red\nendpoints: []")


def test_devkit_refuses_to_start_on_a_bad_config_with_a_one_line_reason(tmp_path: Path) -> None:
    config = write(tmp_path, "endpoints: [{hook_id: a, settings: {app: x}}]")
    result = subprocess.run(
        [sys.executable, "-m", "dify_plugin_devkit", "run", str(PROBE_PLUGIN), "--config", str(config), "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "settings.greeting: required setting is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_examples_print_as_curl_lines_multipart_ones_with_f_and_null_hides_a_route(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
endpoints:
  - {hook_id: a, settings: {greeting: hi}}
  - hook_id: b
    settings: {greeting: hi}
    examples: {"POST /app": "-F file=@README.md -F 'inputs={}'", "GET /drip": null}
examples: {"POST /app": '{"x": 1}', "GET /drip": "?n=1"}
""",
    )
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=config, port=5999, state_dir=tmp_path))
    devkit.load()
    assert devkit.config is not None
    assert devkit.config.endpoints[1].examples == {"POST /app": "-F file=@README.md -F 'inputs={}'", "GET /drip": None}
    lines = banner(devkit).splitlines()
    base = "http://127.0.0.1:5999/e"
    assert f"       curl -N -X POST '{base}/a/app' -H 'Content-Type: application/json' -d '{{\"x\": 1}}'" in lines
    assert f"       curl -N -X POST '{base}/b/app' -F file=@README.md -F 'inputs={{}}'" in lines
    assert f"       curl -N '{base}/a/drip?n=1'" in lines
    assert not [line for line in lines if "/b/drip" in line]
    assert "apps answer as Dify 1.13.2 (quirks on: completion_from_plugin_fails, malformed_conversation_id_is_500;" in (
        "\n".join(lines)
    )
    assert "expected a mapping of 'METHOD /path' to a string" in error_for(
        tmp_path, 'endpoints: [{hook_id: a, settings: {greeting: hi}}]\nexamples: {"GET /drip": 3}'
    )


def test_examples_may_be_null_and_carry_headers(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "endpoints: [{hook_id: a, settings: {greeting: hi}, examples: {'POST /x': null, 'GET /y': '?q=1'},"
            " example_headers: {Authorization: Bearer k}}]\nexamples: {'GET /z': null}",
        ),
        DECLARATIONS,
    )
    instance = config.endpoints[0]
    assert instance.examples == {"POST /x": None, "GET /y": "?q=1"}
    assert instance.example_headers == {"Authorization": "Bearer k"}
    assert config.examples == {"GET /z": None}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("examples: {'GET /x': 1}", "examples: expected a mapping of 'METHOD /path' to a string (or null"),
        ("example_headers: {Authorization: 1}", "example_headers: expected a mapping of header name to a string"),
        ("example_headers: [x]", "example_headers: expected a mapping"),
    ],
)
def test_bad_examples_or_headers_are_errors(tmp_path: Path, entry: str, expected: str) -> None:
    assert expected in error_for(tmp_path, f"endpoints: [{{hook_id: a, settings: {{greeting: hi}}, {entry}}}]")


def test_a_route_without_example_prints_no_request_that_would_not_work(tmp_path: Path) -> None:
    """No `-d '{}'` for a POST without an example, no URL with `<name>` in it: such routes
    are listed as having no example; a GET route without path variables works bare."""
    config = write(
        tmp_path, 'endpoints: [{hook_id: a, settings: {greeting: hi}, examples: {"GET /fail/<when>": null}}]'
    )
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=config, port=5999, state_dir=tmp_path))
    devkit.load()
    lines = banner(devkit).splitlines()
    assert not [line for line in lines if "-d '{}'" in line or "<path:rest>'" in line], lines
    assert "       curl -N 'http://127.0.0.1:5999/e/a/drip'" in lines
    assert "  not set up on this endpoint (no example): GET /fail/<when>" in lines
    assert (
        "  no example (add one under `examples:` in devkit.yaml): GET /echo/<path:rest>, POST /echo/<path:rest>, "
        "DELETE /echo/<path:rest>, POST /app, POST /storage, POST /upload, POST /upload-url, POST /framing, "
        "PUT /framing, DELETE /framing"
    ) in lines
    assert "every endpoint on one page: http://127.0.0.1:5999/" in lines


def test_the_root_page_lists_every_endpoint_escaped(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
endpoints:
  - {hook_id: a, name: "<script>alert(1)</script>", settings: {greeting: hi}, examples: {"GET /drip": "?n=1&m=<b>"}}
  - {hook_id: b, settings: {greeting: hi}, enabled: false}
""",
    )
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=config, port=5999, state_dir=tmp_path))
    devkit.load()
    page = index_page(devkit)
    assert page.startswith("<!doctype html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="http://127.0.0.1:5999/e/a/drip?n=1&amp;m=&lt;b&gt;">' in page
    assert "<code>http://127.0.0.1:5999/e/a/echo/&lt;path:rest&gt;</code>" in page
    assert "(no example)" in page
    assert "disabled: answers 404" in page
    assert page.count("<h2>") == 2


def test_without_a_config_required_settings_get_placeholders_and_the_banner_says_so(tmp_path: Path) -> None:
    """Any plugin starts with no file to write first: a required text gets a text saying
    what it is, a required app-selector a demo app; settings with defaults keep them."""
    config = load_config(None, DECLARATIONS)
    assert config.endpoints[0].settings == {"greeting": "devkit-placeholder-greeting", "loud": False}
    assert config.placeholders == ("greeting",)
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, port=5999, state_dir=tmp_path))
    devkit.load()
    lines = banner(devkit).splitlines()
    assert lines[2] == (
        "no devkit.yaml: placeholder values for the required settings greeting (write a devkit.yaml to give real ones)"
    )


def test_dify_knob_names_the_version_and_switches_quirks(tmp_path: Path) -> None:
    """`dify:` absent: Dify 1.13.2 with every quirk on; each quirk can be switched off."""
    base = "endpoints: [{hook_id: a, settings: {greeting: hi}}]\n"
    default = load_config(write(tmp_path, base), DECLARATIONS).dify
    assert default.version == "1.13.2"
    assert default.has("completion_from_plugin_fails")
    assert default.has("malformed_conversation_id_is_500")
    later = load_config(
        write(tmp_path, base + "dify: {version: '1.13.2', quirks: {completion_from_plugin_fails: false}}"),
        DECLARATIONS,
    ).dify
    assert not later.has("completion_from_plugin_fails")
    assert later.has("completion_from_plugin_fails", {"completion_from_plugin_fails": True})  # an app's own
    assert "dify.quirks.no_such: unknown quirk" in error_for(tmp_path, base + "dify: {quirks: {no_such: false}}")
    assert "expected true or false" in error_for(tmp_path, base + "dify: {quirks: {completion_from_plugin_fails: 0}}")
    assert "emulates Dify 1.13.2 only" in error_for(tmp_path, base + "dify: {version: '1.9.0'}")


def test_the_banner_lists_dsl_apps_apart_from_the_demo_apps(tmp_path: Path) -> None:
    chatflow = Path(__file__).parent / "fixtures" / "real-dify-1.13.2" / "apps" / "chatflow.yml"
    config = write(
        tmp_path,
        f"endpoints: [{{hook_id: a, settings: {{greeting: hi}}}}]\napps: [{{id: flow, dsl: {chatflow}}}]\n"
        "dify: {quirks: {completion_from_plugin_fails: false, malformed_conversation_id_is_500: false}}\n",
    )
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=config, port=5999, state_dir=tmp_path))
    devkit.load()
    lines = banner(devkit).splitlines()
    assert f"apps from Dify DSL files: flow (advanced-chat, {chatflow})" in lines
    assert "apps answer as Dify 1.13.2 (every quirk off)" in lines
    assert " flow (" not in next(line for line in lines if line.startswith("demo apps: "))
