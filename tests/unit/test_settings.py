"""provider.settings: the endpoint's settings, read once into one typed value."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from provider.errors import AppNotConfigured
from provider.limits import DEFAULT_KEEPALIVE_SECONDS
from provider.settings import EndpointSettings


def test_empty_settings_mean_no_key_the_default_keepalive_and_no_apps() -> None:
    config = EndpointSettings.parse({})
    assert config.api_key is None
    assert config.keepalive_seconds == DEFAULT_KEEPALIVE_SECONDS == 15.0  # well under gateways' ~60 s
    assert dict(config.apps) == {}


def test_settings_as_dify_sends_them() -> None:
    config = EndpointSettings.parse(
        {
            "chat_app": {"app_id": "app-1", "extra": "ignored"},
            "workflow_app": None,
            "api_key": "k3y",
            "keepalive_seconds": "20",
        }
    )
    assert config.api_key == "k3y"
    assert config.keepalive_seconds == 20.0
    assert config.app_id("chat_app") == "app-1"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_an_empty_keepalive_is_the_default(raw: Any) -> None:
    assert EndpointSettings.parse({"keepalive_seconds": raw}).keepalive_seconds == DEFAULT_KEEPALIVE_SECONDS


@pytest.mark.parametrize(("raw", "seconds"), [("1", 1.0), ("300", 300.0), (" 2.5 ", 2.5), (7, 7.0)])
def test_keepalive_within_1_to_300_seconds(raw: Any, seconds: float) -> None:
    assert EndpointSettings.parse({"keepalive_seconds": raw}).keepalive_seconds == seconds


@pytest.mark.parametrize("raw", ["0.99", "300.5", "0", "-5", "soon", "nan", "inf", True])
def test_keepalive_outside_1_to_300_is_503_naming_the_setting(raw: Any) -> None:
    with pytest.raises(AppNotConfigured) as raised:
        EndpointSettings.parse({"keepalive_seconds": raw})
    assert raised.value.status == 503
    assert raised.value.code == "app_not_configured"
    assert "`keepalive_seconds`" in raised.value.message
    assert "from 1 to 300" in raised.value.message


@pytest.mark.parametrize("value", [None, "", {}, {"app_id": ""}, {"app_id": 3}])
def test_an_unset_app_is_503_naming_the_setting(value: Any) -> None:
    config = EndpointSettings.parse({"workflow_app": value})
    with pytest.raises(AppNotConfigured) as raised:
        config.app_id("workflow_app")
    assert raised.value.status == 503
    assert "`workflow_app` setting" in raised.value.message


def test_other_settings_are_never_taken_for_an_app() -> None:
    config = EndpointSettings.parse({"api_key": "s3cret"})
    with pytest.raises(AppNotConfigured):
        config.app_id("api_key")


@pytest.mark.parametrize("raw", ["", None])
def test_an_empty_api_key_means_none(raw: Any) -> None:
    assert EndpointSettings.parse({"api_key": raw}).api_key is None


def test_the_key_stays_out_of_reprs_and_the_value_cannot_change() -> None:
    config = EndpointSettings.parse({"api_key": "s3cret", "chat_app": {"app_id": "app-1"}})
    assert "s3cret" not in repr(config)
    assert "app-1" in repr(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.api_key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.apps["chat_app"] = "other"  # type: ignore[index]


# -- max_file_mb ---------------------------------------------------------------------------
MIB = 1024 * 1024


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_an_empty_file_limit_is_the_default_5_mib(raw: Any) -> None:
    assert EndpointSettings.parse({"max_file_mb": raw}).max_file_bytes == 5 * MIB


@pytest.mark.parametrize(("raw", "size"), [("1", MIB), ("0.5", MIB // 2), ("10", 10 * MIB), (2, 2 * MIB)])
def test_the_file_limit_in_mib(raw: Any, size: int) -> None:
    assert EndpointSettings.parse({"max_file_mb": raw}).max_file_bytes == size


@pytest.mark.parametrize("raw", ["0", "-1", "10.5", "11", "nan", "inf", "big"])
def test_a_file_limit_above_what_dify_passes_on_or_not_a_size_is_503(raw: Any) -> None:
    with pytest.raises(AppNotConfigured) as raised:
        EndpointSettings.parse({"max_file_mb": raw})
    assert raised.value.status == 503
    assert raised.value.message == (
        "The endpoint's `max_file_mb` setting must be a number of MiB above 0 and at most 10 "
        "(Dify's plugin daemon passes at most 10 MiB of a request)."
    )
