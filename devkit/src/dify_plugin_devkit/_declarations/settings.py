"""The `settings:` of an endpoint group: the form a workspace owner fills in in Dify.

Each setting is validated with the SDK's `ProviderConfig`; the daemon's scope
rules and the one-name-once rule are restated. The parsed declarations are kept:
the runner checks devkit.yaml's endpoint instances against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dify_plugin_devkit._declarations.i18n import check_i18n
from dify_plugin_devkit._declarations.problems import Problems, short, validation_problems

if TYPE_CHECKING:
    from dify_plugin_devkit._sdk import ProviderConfig

#: config.go: isAppSelectorScope / isModelConfigScope.
APP_SELECTOR_SCOPES = ("all", "chat", "workflow", "completion")
MODEL_SELECTOR_SCOPES = (
    "llm",
    "text-embedding",
    "rerank",
    "tts",
    "speech2text",
    "moderation",
    "vision",
    "document",
    "tool-call",
)
SETTING_HINTS: dict[str, str] = {
    "name": "give the setting a `name:`; the endpoint reads settings[name]",
    "type": "use one of secret-input, text-input, select, boolean, model-selector, app-selector, array[tools]",
    "label": "give `label: {en_US: ...}`",
    "options": "list options as `- value: x` with `label: {en_US: ...}`",
}


def read_settings(problems: Problems, rel: str, settings: Any) -> tuple[int, list[ProviderConfig]]:
    """(how many settings the group lists, the ones the SDK accepted)."""
    # imported here: the SDK takes seconds to import, and `_apps` imports this package
    from dify_plugin_devkit._sdk import ProviderConfig

    if settings is None:
        return 0, []
    if not isinstance(settings, list):
        problems.add(rel, "settings", "not a list", "write settings as a list of `- name: ...`")
        return 0, []
    accepted: list[ProviderConfig] = []
    names: dict[str, int] = {}
    for i, setting in enumerate(settings):
        label = f"settings[{i}]"
        if isinstance(setting, Mapping) and isinstance(setting.get("name"), str):
            label = f"settings[{setting['name']}]"
        if not isinstance(setting, Mapping):
            problems.add(rel, label, "not a mapping", "write each setting as `- name: ...`")
            continue
        try:
            accepted.append(ProviderConfig.model_validate(setting))
        except ValidationError as exc:
            problems.extend(validation_problems(exc, rel, SETTING_HINTS, label))
        _scope(problems, rel, label, setting)
        name = setting.get("name")
        if isinstance(name, str):
            if name in names:
                problems.add(
                    rel,
                    f"{label}.name",
                    f"duplicate of settings[{names[name]}]; the second value wins",
                    "give each setting its own name",
                )
            names.setdefault(name, i)
        for key in ("label", "help", "placeholder"):
            check_i18n(problems, rel, f"{label}.{key}", setting.get(key))
    return len(settings), accepted


def _scope(problems: Problems, rel: str, label: str, setting: Mapping[str, Any]) -> None:
    """Only selectors take a scope, and only one of the daemon's words (joined by &)."""
    kind, scope = setting.get("type"), setting.get("scope")
    if scope is None or not isinstance(kind, str):
        return  # a type that is not text was reported by the SDK model
    allowed = {"app-selector": APP_SELECTOR_SCOPES, "model-selector": MODEL_SELECTOR_SCOPES}.get(kind)
    if allowed is None:
        problems.add(
            rel,
            f"{label}.scope",
            f"a {kind} setting cannot have a scope (Dify's daemon rejects it)",
            "remove scope; only app-selector and model-selector take one",
        )
        return
    parts = [p.strip() for p in str(scope).split("&")]
    bad = [p for p in parts if p not in allowed]
    if bad or not isinstance(scope, str):
        problems.add(rel, f"{label}.scope", f"{short(scope)} is not a {kind} scope", f"use one of {', '.join(allowed)}")
