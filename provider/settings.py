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

import math
from collections.abc import Mapping, Sequence
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


# Reading any setting by name, for settings this module does not know (a plugin's own
# `secret-input`, a number, a `select`, another app-selector). Each reader takes Dify's
# settings mapping as `_invoke` receives it and names the setting in its errors, so
# the workspace owner knows which field to fix; none repeats the value (it may be a
# secret). An empty field counts as missing whether Dify left it out, sent None or "".
#
#     secret = text_setting(settings, "signing_secret")                  # required text
#     region = select_setting(settings, "region", ("eu", "us"), default="eu")
#     limit = integer_setting(settings, "max_items", default=10, minimum=1, maximum=100)
#     app_id = app_setting(settings, "workflow_app")


def _empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def _missing(name: str) -> AppNotConfigured:
    return AppNotConfigured(
        f"The endpoint's `{name}` setting is empty: the workspace owner must fill it in in the endpoint's "
        "settings in Dify.",
        code="setting_missing",
    )


def _invalid(name: str, expected: str) -> AppNotConfigured:
    return AppNotConfigured(f"The endpoint's `{name}` setting must be {expected}.", code="setting_invalid")


def text_setting(settings: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    """A `secret-input` or `text-input` setting as text; None when empty and not
    `required`. AppNotConfigured (`setting_missing`) when required and empty,
    (`setting_invalid`) when it is not text."""
    raw = settings.get(name)
    if _empty(raw):
        if required:
            raise _missing(name)
        return None
    if not isinstance(raw, str):
        raise _invalid(name, "text")
    return raw


def number_setting(
    settings: Mapping[str, Any],
    name: str,
    *,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """A number setting (a `text-input` holding a number, or a number), within
    [`minimum`, `maximum`]; `default` when empty (AppNotConfigured `setting_missing`
    when empty and there is no default, `setting_invalid` when not such a number)."""
    return _number(settings, name, default, minimum, maximum, integer=False)


def integer_setting(
    settings: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """`number_setting` for a whole number ("10" and 10.0 pass, "2.5" is refused)."""
    return int(_number(settings, name, default, minimum, maximum, integer=True))


def _number(
    settings: Mapping[str, Any],
    name: str,
    default: float | None,
    minimum: float | None,
    maximum: float | None,
    *,
    integer: bool,
) -> float:
    raw = settings.get(name)
    if _empty(raw):
        if default is None:
            raise _missing(name)
        return default
    kind = "a whole number" if integer else "a number"
    if minimum is not None and maximum is not None:
        kind += f" from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        kind += f" of at least {minimum:g}"
    elif maximum is not None:
        kind += f" of at most {maximum:g}"
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _invalid(name, kind)
    try:
        number = float(str(raw).strip())
    except ValueError:
        raise _invalid(name, kind) from None
    if not math.isfinite(number) or (integer and not number.is_integer()):
        raise _invalid(name, kind)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise _invalid(name, kind)
    return number


def select_setting(
    settings: Mapping[str, Any], name: str, choices: Sequence[str], *, default: str | None = None
) -> str:
    """A `select` setting: one of `choices` (the option values of the group file);
    `default` when empty (AppNotConfigured `setting_missing` when empty and no default)."""
    raw = settings.get(name)
    if _empty(raw):
        if default is None:
            raise _missing(name)
        return default
    if not isinstance(raw, str) or raw not in choices:
        raise _invalid(name, "one of " + ", ".join(f'"{choice}"' for choice in choices))
    return raw


def app_setting(settings: Mapping[str, Any], name: str) -> str:
    """The app id chosen in the `app-selector` setting `name` (Dify sends an object
    holding `app_id`); AppNotConfigured naming the setting when no app is chosen."""
    raw = settings.get(name)
    if _empty(raw) or (isinstance(raw, Mapping) and _empty(raw.get("app_id"))):
        raise AppNotConfigured(
            f"This endpoint has no app to call: the workspace owner must choose one in the endpoint's `{name}` "
            "setting in Dify.",
            code="setting_missing",
        )
    app_id = _app_id(raw)
    if app_id is None:
        raise _invalid(name, "an app chosen in Dify's app selector")
    return app_id
