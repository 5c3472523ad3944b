"""`example_signature`: the printed examples of an instance carry an HMAC header computed
over each example's exact body, so a route that checks signed requests gets a curl line
that works as printed."""

from __future__ import annotations

import hashlib
import hmac
import shlex
from pathlib import Path

import pytest
from support import PROBE_PLUGIN

from dify_plugin_devkit._app import Devkit, DevkitOptions
from dify_plugin_devkit._cli import banner
from dify_plugin_devkit._config import ConfigError, ExampleSignature, load_config
from dify_plugin_devkit._declarations import load_plugin
from dify_plugin_devkit._index import SIGNED_MULTIPART, route_examples

DECLARATIONS = load_plugin(PROBE_PLUGIN).settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "devkit.yaml"
    path.write_text(text)
    return path


def expected(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_each_printed_example_carries_the_signature_of_its_own_body(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
endpoints:
  - hook_id: a
    settings: {greeting: s3cret}
    example_headers: {Authorization: Bearer k}
    example_signature: {secret_setting: greeting}
    examples: {"POST /app": '{"x": 1}', "GET /drip": "?n=1", "POST /upload": "-F file=@README.md"}
""",
    )
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=config, port=5999, state_dir=tmp_path))
    devkit.load()
    assert devkit.config is not None
    instance = devkit.config.endpoints[0]
    assert instance.example_signature == ExampleSignature(secret_setting="greeting")
    lines = banner(devkit).splitlines()
    base = "http://127.0.0.1:5999/e/a"
    post = shlex.quote(f"X-Signature: {expected('s3cret', b'{"x": 1}')}")
    assert (
        f"       curl -N -X POST '{base}/app' -H 'Authorization: Bearer k' -H {post}"
        f" -H 'Content-Type: application/json' -d '{{\"x\": 1}}'"
    ) in lines
    get = shlex.quote(f"X-Signature: {expected('s3cret', b'')}")  # a GET sends no body: the empty body is signed
    assert f"       curl -N -H 'Authorization: Bearer k' -H {get} '{base}/drip?n=1'" in lines
    # curl chooses a multipart body's boundary: no signed line can be printed for it
    upload = next(r for r in route_examples(devkit, instance) if r.path == "/upload")
    assert (upload.example, upload.missing) == (None, SIGNED_MULTIPART)
    assert not [line for line in lines if "-F file=@README.md" in line]


def test_header_and_prefix_are_configurable(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "endpoints: [{hook_id: a, settings: {greeting: k2},"
        " example_signature: {secret_setting: greeting, header: X-Hub-Signature-256, prefix: ''},"
        " examples: {'POST /app': '{}'}}]",
    )
    devkit = Devkit(DevkitOptions(plugin_dir=PROBE_PLUGIN, config_path=config, port=5999, state_dir=tmp_path))
    devkit.load()
    assert devkit.config is not None
    app = next(r for r in route_examples(devkit, devkit.config.endpoints[0]) if r.path == "/app")
    assert app.headers == (("X-Hub-Signature-256", expected("k2", b"{}")[len("sha256=") :]),)


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("{header: X-Signature}", "secret_setting: name the setting that holds the secret"),
        ("{secret_setting: app}", "the setting 'app' must be set to a non-empty string"),
        ("{secret_setting: greeting, scheme: md5}", "scheme: 'md5' is not known; use one of ['hmac-sha256']"),
        ("{secret_setting: greeting, salt: x}", "example_signature: salt: unknown key"),
        ("[greeting]", "example_signature: expected a mapping"),
    ],
)
def test_a_bad_example_signature_is_an_error_naming_what_to_fix(tmp_path: Path, signature: str, message: str) -> None:
    text = f"endpoints: [{{hook_id: a, settings: {{greeting: hi}}, example_signature: {signature}}}]"
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), DECLARATIONS)
    assert message in str(raised.value)
    assert "endpoint 'a'" in str(raised.value)
