"""The inner-API bridge's pure parts: Dify's length-prefixed frames, read from the
recorded bodies whatever the chunking, and the `inner_api:` configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from recorded_dify import INNER
from support import PROBE_PLUGIN

from dify_plugin_devkit import ConfigError
from dify_plugin_devkit._app import Devkit, DevkitOptions
from dify_plugin_devkit._apps import AppCallError, SecretInConfigError
from dify_plugin_devkit._apps.inner_api import FrameError, FrameReader, InnerApiApp, _frame_data, decode_frames
from dify_plugin_devkit._backwards import describe_app_error
from dify_plugin_devkit._cli import banner
from dify_plugin_devkit._config import DevkitConfig, load_config
from dify_plugin_devkit._declarations import load_plugin

RECORDED_STREAMS = sorted(path.stem.removesuffix(".frames") for path in INNER.glob("*.frames.jsonl"))
LITERAL_KEY = "inner-0123456789LITERAL"


@pytest.mark.parametrize("name", RECORDED_STREAMS)
def test_every_recorded_body_decodes_to_its_recorded_frames(name: str) -> None:
    body = (INNER / f"{name}.body").read_bytes()
    expected = [json.loads(line) for line in (INNER / f"{name}.frames.jsonl").read_text().splitlines() if line]
    assert decode_frames(body) == expected


@pytest.mark.parametrize("size", [1, 3, 14, 1000])
def test_frames_split_anywhere_are_read_the_same(size: int) -> None:
    body = (INNER / "inner_chat_fail_stream.body").read_bytes()
    reader = FrameReader()
    frames = [frame for start in range(0, len(body), size) for frame in reader.feed(body[start : start + size])]
    assert [json.loads(frame) for frame in frames] == decode_frames(body)
    assert reader.pending == 0


def test_bytes_that_are_not_frames_are_refused() -> None:
    with pytest.raises(FrameError, match="not 0x0f"):
        FrameReader().feed(b'{"code":"invalid_param"}')
    body = (INNER / "inner_chat_blocking.body").read_bytes()
    with pytest.raises(FrameError, match="after the last complete frame"):
        decode_frames(body[:-5])


def test_a_frame_with_an_error_ends_the_call_as_the_daemon_reports_it() -> None:
    app = InnerApiApp("flow", "http://api:5001", "k", "K", "t", "a")
    assert _frame_data(app, b'{"data":{"event":"ping"},"error":""}') == {"event": "ping"}
    with pytest.raises(AppCallError) as failed:
        _frame_data(app, b'{"data":null,"error":"model quota exceeded"}')
    assert describe_app_error(failed.value) == "read app failed: request failed: model quota exceeded"


# --- configuration ------------------------------------------------------------------------


def write_config(folder: Path, *apps: dict[str, Any]) -> Path:
    path = folder / "devkit.yaml"
    config = {"endpoints": [{"hook_id": "probe", "settings": {"greeting": "hi"}}], "apps": list(apps)}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def inner_app(api_key: str = "${INNER_KEY}", **source: Any) -> dict[str, Any]:
    base = {"base_url": "http://localhost:5001", "api_key": api_key, "tenant_id": "${TENANT}", **source}
    return {"id": "my-flow", "inner_api": base}


def load(path: Path) -> DevkitConfig:
    return load_config(path, load_plugin(PROBE_PLUGIN).settings)


def test_a_literal_inner_key_is_refused_without_repeating_it(tmp_path: Path) -> None:
    with pytest.raises(SecretInConfigError) as refused:
        load(write_config(tmp_path, inner_app(api_key=LITERAL_KEY)))
    message = str(refused.value)
    assert "apps[0] (id 'my-flow'): inner_api.api_key" in message
    assert "${VAR}" in message
    assert LITERAL_KEY not in message


def test_key_and_ids_come_from_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INNER_KEY", raising=False)
    monkeypatch.delenv("TENANT", raising=False)
    (tmp_path / ".env").write_text("INNER_KEY=secret-inner\nTENANT=t-1\nAPP=a-1\n")
    config = load(write_config(tmp_path, inner_app(app_id="${APP}", base_url="http://api:5001/inner/api/")))
    [app] = config.real_apps
    assert isinstance(app, InnerApiApp)
    assert (app.api_key, app.tenant_id, app.app_id, app.user_id) == ("secret-inner", "t-1", "a-1", "")
    assert app.url("/invoke/app") == "http://api:5001/inner/api/invoke/app"
    assert "secret-inner" not in repr(app)


def test_the_app_id_defaults_to_the_entry_id_and_missing_values_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INNER_KEY", "k")
    monkeypatch.setenv("TENANT", "t")
    [app] = load(write_config(tmp_path, inner_app())).real_apps
    assert isinstance(app, InnerApiApp)
    assert app.app_id == "my-flow"
    monkeypatch.delenv("TENANT")
    with pytest.raises(ConfigError, match=r"inner_api.tenant_id: \$\{TENANT\} is not set"):
        load(write_config(tmp_path, inner_app()))
    monkeypatch.setenv("TENANT", "t")
    with pytest.raises(ConfigError, match=r"inner_api\.port: unknown key"):
        load(write_config(tmp_path, inner_app(port=5001)))


def test_the_banner_names_the_inner_api_and_where_uploads_go_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INNER_KEY", "very-secret-inner-key")
    monkeypatch.setenv("TENANT", "tenant-7")
    path = write_config(tmp_path, inner_app())
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=path, state_dir=tmp_path / "state"))
    devkit.load()
    text = banner(devkit)
    assert "my-flow  http://localhost:5001/inner/api" in text
    assert "session.file.upload goes to http://localhost:5001 (tenant tenant-7)" in text
    assert "very-secret-inner-key" not in text
