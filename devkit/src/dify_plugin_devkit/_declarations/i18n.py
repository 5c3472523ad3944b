"""I18n objects (`{en_US: ..., zh_Hans: ...}`): the daemon's limits the SDK does not have.

Used for the manifest's label and description and for every setting's label, help
and placeholder; whether the value is an I18n object at all is the SDK model's call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dify_plugin_devkit._declarations.problems import Problems

#: basic_type.go: I18nObject fields are `lt=1024`.
I18N_MAX_CHARS = 1023


def check_i18n(problems: Problems, rel: str, key: str, value: Any) -> None:
    """Report an empty English text and any translation over the daemon's length limit."""
    if not isinstance(value, Mapping):
        return  # not an I18n object: the SDK model reported it
    en = value.get("en_US")
    if isinstance(en, str) and not en.strip():
        problems.add_once(rel, f"{key}.en_US", "empty", f"write the {key} in English")
    for locale, text in value.items():
        if isinstance(text, str) and len(text) > I18N_MAX_CHARS:
            problems.add(rel, f"{key}.{locale}", f"{len(text)} characters (Dify allows {I18N_MAX_CHARS})", "shorten it")
