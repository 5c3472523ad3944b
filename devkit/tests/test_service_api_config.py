"""Real apps in the devkit configuration: `${VAR}` keys only, from the environment or a
`.env` beside the configuration, and what `dify-devkit run` prints about them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import PROBE_PLUGIN

from dify_plugin_devkit import ConfigError
from dify_plugin_devkit._app import Devkit, DevkitOptions
from dify_plugin_devkit._apps import DEVKIT_USER, SecretInConfigError
from dify_plugin_devkit._apps.service_api import parse_service_app
from dify_plugin_devkit._cli import banner
from dify_plugin_devkit._config import DevkitConfig, load_config
from dify_plugin_devkit._declarations import load_plugin

LITERAL_KEY = "app-0123456789abcdefLITERAL"


def write_config(folder: Path, *apps: dict[str, Any]) -> Path:
    path = folder / "devkit.yaml"
    config = {"endpoints": [{"hook_id": "probe", "settings": {"greeting": "hi"}}], "apps": list(apps)}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def real_app(app_id: str = "my-chat", api_key: str = "${DIFY_CHAT_KEY}", **extra: Any) -> dict[str, Any]:
    return {"id": app_id, "service_api": {"base_url": "https://api.dify.ai/v1", "api_key": api_key}, **extra}


def load(path: Path) -> DevkitConfig:
    return load_config(path, load_plugin(PROBE_PLUGIN).settings)


def test_a_key_written_into_the_configuration_is_refused_with_the_way_to_name_it(tmp_path: Path) -> None:
    with pytest.raises(SecretInConfigError) as refused:
        load(write_config(tmp_path, real_app(api_key=LITERAL_KEY)))
    message = str(refused.value)
    assert "apps[0] (id 'my-chat'): service_api.api_key" in message
    assert "${VAR}" in message
    assert LITERAL_KEY not in message
    assert isinstance(refused.value, ConfigError)


def test_the_key_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIFY_CHAT_KEY", "app-from-env")
    [app] = load(write_config(tmp_path, real_app(mode="advanced-chat"))).real_apps
    assert (app.id, app.base_url, app.api_key, app.mode) == (
        "my-chat",
        "https://api.dify.ai/v1",
        "app-from-env",
        "advanced-chat",
    )
    assert "app-from-env" not in repr(app)


def test_the_key_comes_from_a_dotenv_beside_the_configuration_unless_the_environment_has_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIFY_CHAT_KEY", raising=False)
    (tmp_path / ".env").write_text("DIFY_CHAT_KEY=app-from-dotenv\nDIFY_URL=http://dify.internal/v1/\n")
    app = real_app()
    app["service_api"]["base_url"] = "${DIFY_URL}"
    [loaded] = load(write_config(tmp_path, app)).real_apps
    assert (loaded.api_key, loaded.base_url) == ("app-from-dotenv", "http://dify.internal/v1")
    monkeypatch.setenv("DIFY_CHAT_KEY", "app-from-env")
    [loaded] = load(write_config(tmp_path, app)).real_apps
    assert loaded.api_key == "app-from-env"


def test_an_unset_variable_is_named_with_where_to_set_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIFY_CHAT_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"\$\{DIFY_CHAT_KEY\} is not set: export DIFY_CHAT_KEY=\.\.\. or in .*\.env"):
        load(write_config(tmp_path, real_app()))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"mode": "chatbot"}, "mode: expected one of"),
        ({"token_delay": 1}, "token_delay: unknown key"),
        ({"service_api": {"base_url": "api.dify.ai/v1", "api_key": "${DIFY_CHAT_KEY}"}}, "expected an http(s) URL"),
        ({"service_api": {"base_url": "https://api.dify.ai/v1"}}, "write the key as `${VAR}`"),
        (
            {"service_api": {"base_url": "https://x/v1", "api_key": "${DIFY_CHAT_KEY}", "first_event_timeout": 0}},
            "service_api.first_event_timeout: expected a number of seconds > 0, got 0",
        ),
    ],
)
def test_a_wrong_real_app_entry_is_refused_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], complaint: str
) -> None:
    monkeypatch.setenv("DIFY_CHAT_KEY", "app-from-env")
    with pytest.raises(ConfigError) as refused:
        load(write_config(tmp_path, {**real_app(), **change}))
    assert complaint in str(refused.value)


def test_demo_and_real_apps_live_side_by_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIFY_CHAT_KEY", "app-from-env")
    demo = {"id": "my-demo", "name": "Demo", "mode": "chat", "script": "echo"}
    config = load(write_config(tmp_path, demo, real_app()))
    assert [a.id for a in config.inline_apps] == ["my-demo"]
    assert [a.id for a in config.real_apps] == ["my-chat"]


def test_run_shows_real_apps_with_url_and_mode_demo_apps_as_demo_and_never_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIFY_CHAT_KEY", "app-secret-chat")
    monkeypatch.setenv("DIFY_FLOW_KEY", "app-secret-flow")
    flow = real_app("my-flow", "${DIFY_FLOW_KEY}")
    flow["service_api"]["base_url"] = "http://192.168.1.20/v1"
    path = write_config(tmp_path, real_app(mode="advanced-chat"), flow)
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=path, state_dir=tmp_path / "state"))
    devkit.load()
    text = banner(devkit)
    assert f"real apps (Dify Service API, every call as user '{DEVKIT_USER}'):" in text
    assert "my-chat  https://api.dify.ai/v1  (advanced-chat; key from $DIFY_CHAT_KEY)" in text
    assert "my-flow  http://192.168.1.20/v1  (mode read from GET /info at the first call" in text
    assert "demo apps: demo-chat-echo (chat)" in text
    assert "app-secret" not in text


def test_the_readme_example_declares_a_cloud_and_a_self_hosted_app(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Real apps (Dify's Service API)")[1]
    block = section.split("```yaml\n")[1].split("```")[0]
    monkeypatch.setenv("DIFY_CHAT_APP_KEY", "app-chat")
    monkeypatch.setenv("DIFY_FLOW_APP_KEY", "app-flow")
    entries = yaml.safe_load(block)["apps"]
    apps = [parse_service_app(entry, "README.md", os.environ, None) for entry in entries]
    assert [(a.id, a.base_url, a.mode) for a in apps] == [
        ("my-chat", "https://api.dify.ai/v1", "advanced-chat"),
        ("my-flow", "http://192.168.1.20/v1", None),
    ]


def test_the_ping_bound_is_thirty_seconds_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIFY_CHAT_KEY", "app-from-env")
    [default] = load(write_config(tmp_path, real_app())).real_apps
    app = real_app()
    app["service_api"]["first_event_timeout"] = 5
    [short] = load(write_config(tmp_path, app)).real_apps
    assert (default.first_event_timeout, short.first_event_timeout) == (30.0, 5.0)
