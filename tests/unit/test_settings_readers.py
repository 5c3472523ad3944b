"""provider.settings: reading any setting by name (text, number, select, app)."""

from __future__ import annotations

from typing import Any

import pytest

from provider.errors import AppNotConfigured
from provider.settings import app_setting, integer_setting, number_setting, select_setting, text_setting

EMPTY: list[Any] = [None, "", "   "]


def refused(call: Any) -> AppNotConfigured:
    with pytest.raises(AppNotConfigured) as raised:
        call()
    assert raised.value.status == 503
    return raised.value


def test_text_as_dify_sends_a_secret_input() -> None:
    assert text_setting({"signing_secret": "whsec-1"}, "signing_secret") == "whsec-1"


@pytest.mark.parametrize("raw", EMPTY)
def test_an_empty_required_text_names_the_setting(raw: Any) -> None:
    settings = {} if raw is None else {"signing_secret": raw}
    error = refused(lambda: text_setting(settings, "signing_secret"))
    assert error.code == "setting_missing"
    assert "`signing_secret`" in error.message
    assert text_setting(settings, "signing_secret", required=False) is None


@pytest.mark.parametrize("raw", [42, {"app_id": "x"}, ["a"], True])
def test_text_that_is_not_text_is_invalid_and_never_echoed(raw: Any) -> None:
    error = refused(lambda: text_setting({"greeting": raw}, "greeting"))
    assert (error.code, "`greeting`" in error.message) == ("setting_invalid", True)
    assert str(raw) not in error.message


@pytest.mark.parametrize(("raw", "value"), [("2.5", 2.5), (" 10 ", 10.0), (7, 7.0), (0.5, 0.5), ("1e1", 10.0)])
def test_numbers_as_text_or_numbers(raw: Any, value: float) -> None:
    assert number_setting({"ratio": raw}, "ratio", minimum=0, maximum=10) == value


@pytest.mark.parametrize("raw", EMPTY)
def test_an_empty_number_is_its_default_or_missing(raw: Any) -> None:
    assert number_setting({"ratio": raw}, "ratio", default=1.5) == 1.5
    assert integer_setting({"limit": raw}, "limit", default=10) == 10
    assert refused(lambda: number_setting({"ratio": raw}, "ratio")).code == "setting_missing"


@pytest.mark.parametrize("raw", ["soon", "nan", "inf", "-inf", True, [1], "11", "-0.5", 10.5])
def test_a_number_out_of_bounds_or_not_a_number_is_invalid_with_the_range(raw: Any) -> None:
    error = refused(lambda: number_setting({"ratio": raw}, "ratio", minimum=0, maximum=10))
    assert error.code == "setting_invalid"
    assert error.message == "The endpoint's `ratio` setting must be a number from 0 to 10."


def test_one_sided_bounds_are_said_as_such() -> None:
    assert "at least 1" in refused(lambda: number_setting({"n": "0"}, "n", minimum=1)).message
    assert "at most 5" in refused(lambda: number_setting({"n": "6"}, "n", maximum=5)).message
    assert number_setting({"n": "-1e9"}, "n") == -1e9


@pytest.mark.parametrize(("raw", "value"), [("10", 10), (10.0, 10), (" 3 ", 3), ("1e2", 100)])
def test_whole_numbers(raw: Any, value: int) -> None:
    result = integer_setting({"limit": raw}, "limit", minimum=1, maximum=100)
    assert (result, type(result)) == (value, int)


@pytest.mark.parametrize("raw", ["2.5", 2.5, "0", "101"])
def test_a_whole_number_setting_refuses_decimals_and_the_range(raw: Any) -> None:
    error = refused(lambda: integer_setting({"limit": raw}, "limit", minimum=1, maximum=100))
    assert error.message == "The endpoint's `limit` setting must be a whole number from 1 to 100."


def test_a_select_is_one_of_its_choices() -> None:
    assert select_setting({"region": "us"}, "region", ("eu", "us")) == "us"
    assert select_setting({"region": ""}, "region", ("eu", "us"), default="eu") == "eu"
    assert refused(lambda: select_setting({}, "region", ("eu", "us"))).code == "setting_missing"


@pytest.mark.parametrize("raw", ["EU", "asia", 1, {"value": "eu"}])
def test_a_select_outside_its_choices_lists_them(raw: Any) -> None:
    error = refused(lambda: select_setting({"region": raw}, "region", ("eu", "us")))
    assert error.code == "setting_invalid"
    assert error.message == 'The endpoint\'s `region` setting must be one of "eu", "us".'


def test_an_app_selector_as_dify_sends_it() -> None:
    assert app_setting({"orders_app": {"app_id": "a1b2", "extra": 1}}, "orders_app") == "a1b2"


@pytest.mark.parametrize("raw", [None, "", {}, {"app_id": ""}, {"app_id": None}])
def test_no_app_chosen_names_the_setting(raw: Any) -> None:
    error = refused(lambda: app_setting({"orders_app": raw}, "orders_app"))
    assert error.code == "setting_missing"
    assert "`orders_app`" in error.message
    assert "choose" in error.message


@pytest.mark.parametrize("raw", ["a1b2", {"app_id": 5}, ["a1b2"]])
def test_an_app_selector_of_another_shape_is_invalid(raw: Any) -> None:
    assert refused(lambda: app_setting({"orders_app": raw}, "orders_app")).code == "setting_invalid"
