"""An endpoint's settings, read once per request into one typed value.

Dify hands `_invoke` the settings as the workspace owner filled them in: a plain
mapping of the group file's settings, where an empty field may be missing, `None`
or `""`, text arrives as text and an `app-selector` as an object holding `app_id`.
`EndpointSettings.parse` reads all of that in one place, so endpoints use
`config.api_key`, `config.keepalive_seconds`, `config.max_file_bytes` and `config.app_id("chat_app")` instead
of fishing in the mapping, and a broken setting is reported the same way everywhere:
`AppNotConfigured` (503), naming the setting the owner must fix, never its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from provider.cors import ALLOWED_ORIGINS, NO_ORIGIN, AllowedOrigins, parse_allowed_origins
from provider.errors import AppNotConfigured
from provider.limits import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_FILE_MB, KEEPALIVE_RANGE, MIB, PLATFORM_MAX_FILE_MB

#: Setting names this module reads; declare them in the group file under these names.
API_KEY = "api_key"
KEEPALIVE_SECONDS = "keepalive_seconds"
MAX_FILE_MB = "max_file_mb"


@dataclass(frozen=True)
class EndpointSettings:
    """What an endpoint instance is configured to do.

    `api_key`: the key callers must send, or None when the owner left it empty (anyone
    with the URL may call). `keepalive_seconds`: how long a stream may stay silent
    before a keep-alive goes out. `max_file_bytes`: the largest file `/workflow` and
    `/completion` accept per file input. `apps`: the app id chosen in each app-selector
    setting that holds one; ask for one with `app_id(setting)`. `allowed_origins`: the
    web origins whose pages may read the responses (CORS; see provider.cors).
    """

    # repr=False: a settings object that ends up in a log line must not carry the key.
    api_key: str | None = field(default=None, repr=False)
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    max_file_bytes: int = int(DEFAULT_MAX_FILE_MB * MIB)
    apps: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    allowed_origins: AllowedOrigins = NO_ORIGIN

    @classmethod
    def parse(cls, settings: Mapping[str, Any]) -> EndpointSettings:
        """Read Dify's settings mapping; AppNotConfigured if `keepalive_seconds` or
        `max_file_mb` or `allowed_origins` is invalid.

        App settings are checked only when an endpoint asks for one (`app_id`): each
        route needs its own app, and an instance may leave the others empty.
        """
        key = settings.get(API_KEY)
        return cls(
            api_key=key if isinstance(key, str) and key else None,
            keepalive_seconds=_keepalive_seconds(settings.get(KEEPALIVE_SECONDS)),
            max_file_bytes=_max_file_bytes(settings.get(MAX_FILE_MB)),
            apps=MappingProxyType(
                {name: app_id for name, value in settings.items() if (app_id := _app_id(value)) is not None}
            ),
            allowed_origins=parse_allowed_origins(settings.get(ALLOWED_ORIGINS)),
        )

    def app_id(self, setting: str) -> str:
        """The app chosen in the app-selector `setting`; AppNotConfigured naming it if none is."""
        app_id = self.apps.get(setting)
        if app_id is None:
            raise AppNotConfigured(
                f"This endpoint has no app to call: the workspace owner must choose one in the "
                f"endpoint's `{setting}` setting in Dify."
            )
        return app_id


def _app_id(value: object) -> str | None:
    """An app-selector's value is an object holding at least `app_id`."""
    app_id = value.get("app_id") if isinstance(value, Mapping) else None
    return app_id if isinstance(app_id, str) and app_id else None


def _keepalive_seconds(raw: object) -> float:
    """A `text-input` setting: text (or a number), empty for the default."""
    if raw is None or str(raw).strip() == "":
        return DEFAULT_KEEPALIVE_SECONDS
    low, high = KEEPALIVE_RANGE
    try:
        seconds = float(str(raw))
    except ValueError:
        seconds = float("nan")  # reported below, like any other number out of range
    if not low <= seconds <= high:  # NaN compares false: out of range too
        raise AppNotConfigured(
            f"The endpoint's `{KEEPALIVE_SECONDS}` setting must be a number of seconds from {low:g} to {high:g}."
        )
    return seconds


def _max_file_bytes(raw: object) -> int:
    """A `text-input` setting in MiB (decimals allowed), empty for the default; never
    above what the platform can deliver (PLATFORM_MAX_FILE_MB)."""
    if raw is None or str(raw).strip() == "":
        return int(DEFAULT_MAX_FILE_MB * MIB)
    try:
        mib = float(str(raw))
    except ValueError:
        mib = float("nan")
    if not 0 < mib <= PLATFORM_MAX_FILE_MB:  # NaN compares false: refused too
        raise AppNotConfigured(
            f"The endpoint's `{MAX_FILE_MB}` setting must be a number of MiB above 0 and at most "
            f"{PLATFORM_MAX_FILE_MB:g} (Dify's plugin daemon passes at most 10 MiB of a request)."
        )
    return max(1, int(mib * MIB))
