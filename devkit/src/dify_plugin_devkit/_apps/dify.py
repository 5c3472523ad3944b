"""Which Dify the devkit's apps behave like: `dify: {version, quirks}` in devkit.yaml.

The devkit answers as the Dify release recorded in tests/fixtures/real-dify-1.13.2/
does. Some of that release's behaviour is a defect a later Dify may fix; each such
defect is a named *quirk*, on by default, that a configuration can switch off to test
a plugin against the fixed behaviour too (`dify: {quirks: {<name>: false}}`). An app
may override a quirk for itself (`quirks:` on the app), so that one devkit run can
show both behaviours side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dify_plugin_devkit._errors import ConfigError

#: The Dify release whose recorded behaviour the devkit emulates.
DIFY_VERSION = "1.13.2"

#: Every quirk: its name, and what Dify 1.13.2 does (on) instead of the fixed behaviour (off).
QUIRKS: dict[str, str] = {
    "completion_from_plugin_fails": (
        "a plugin's call of a completion app answers 500 Internal Server Error: the reverse "
        "invocation passes no `query` and the completion generator reads args['query'] "
        "(KeyError; api/core/plugin/backwards_invocation/app.py, "
        "api/core/app/apps/completion/app_generator.py; recorded: inner_completion_stream)"
    ),
    "malformed_conversation_id_is_500": (
        "a conversation_id that is not a UUID answers 500 Internal Server Error instead of "
        "400 (PostgreSQL rejects the uuid cast; recorded: inner_chat_bad_conv_format)"
    ),
}


@dataclass(frozen=True)
class DifyBehaviour:
    """The emulated Dify: its version and which of its quirks are on."""

    version: str = DIFY_VERSION
    quirks: Mapping[str, bool] = field(default_factory=lambda: dict.fromkeys(QUIRKS, True))

    def has(self, quirk: str, overrides: Mapping[str, bool] | None = None) -> bool:
        """Whether `quirk` is on (an app's own `overrides` first)."""
        if overrides and quirk in overrides:
            return overrides[quirk]
        return self.quirks.get(quirk, True)


def check_quirks(raw: Any, where: str) -> dict[str, bool]:
    """A `quirks:` mapping, every name known and every value true or false."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of quirk name to true or false; quirks: {sorted(QUIRKS)}")
    for name, value in raw.items():
        if name not in QUIRKS:
            raise ConfigError(f"{where}.{name}: unknown quirk; the devkit knows {sorted(QUIRKS)}")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{name}: expected true or false, got {value!r}")
    return dict(raw)


def parse_dify(raw: Any, where: str) -> DifyBehaviour:
    """The `dify:` section of devkit.yaml (absent: Dify 1.13.2 with every quirk on)."""
    if raw is None:
        return DifyBehaviour()
    if not isinstance(raw, Mapping) or set(raw) - {"version", "quirks"}:
        raise ConfigError(f"{where}: dify: expected a mapping with keys 'version' and 'quirks'")
    version = raw.get("version", DIFY_VERSION)
    if version != DIFY_VERSION:
        raise ConfigError(
            f"{where}: dify.version: the devkit emulates Dify {DIFY_VERSION} only, got {version!r}; "
            "switch single behaviours with dify.quirks"
        )
    quirks = {**dict.fromkeys(QUIRKS, True), **check_quirks(raw.get("quirks"), f"{where}: dify.quirks")}
    return DifyBehaviour(version=version, quirks=quirks)
