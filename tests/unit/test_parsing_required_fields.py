"""provider.parsing.require_fields: required JSON fields, each refusal a 400 saying how to fix it."""

from __future__ import annotations

from typing import Any

import pytest

from provider import http, parsing
from provider.errors import BadRequest
from tests.unit.fakes import request

ORDER = {"order_id": str, "amount": (int, float)}


def refused(body: dict[str, Any], fields: Any = ORDER, **kwargs: Any) -> BadRequest:
    with pytest.raises(BadRequest) as raised:
        parsing.require_fields(body, fields, **kwargs)
    assert raised.value.status == 400
    return raised.value


def test_the_fields_come_back_in_order_and_only_they() -> None:
    body = {"amount": 12, "order_id": "A-1", "note": "extra"}
    assert parsing.require_fields(body, ORDER) == {"order_id": "A-1", "amount": 12}
    assert list(parsing.require_fields(body, ORDER)) == ["order_id", "amount"]


@pytest.mark.parametrize("body", [{}, {"order_id": None}, {"order_id": ""}])
def test_a_missing_field_names_it_its_type_and_an_example(body: dict[str, Any]) -> None:
    error = refused(body | {"amount": 1})
    assert error.code == "missing_field"
    assert error.message == ('`order_id` is missing: send it as a JSON string, e.g. {"order_id": "...", "amount": 1}.')


@pytest.mark.parametrize(
    ("amount", "sent"), [("12", "string"), (True, "boolean"), (None, None), ([1], "array"), ({}, "object")]
)
def test_a_field_of_another_json_type_says_both_types(amount: Any, sent: str | None) -> None:
    error = refused({"order_id": "A-1", "amount": amount})
    if sent is None:  # null is missing
        assert error.code == "missing_field"
        return
    assert error.code == "invalid_field"
    assert error.message.startswith(f"`amount` must be a JSON number, not a JSON {sent}; e.g. ")


def test_a_boolean_is_never_a_number_but_is_a_boolean() -> None:
    assert refused({"n": False}, {"n": int}).code == "invalid_field"
    assert parsing.require_fields({"flag": False}, {"flag": bool}) == {"flag": False}
    assert parsing.require_fields({"n": 0}, {"n": int}) == {"n": 0}


def test_null_passes_where_it_is_allowed_and_the_example_can_be_given() -> None:
    assert parsing.require_fields({"tag": None}, {"tag": (str, type(None))}) == {"tag": None}
    error = refused({"amount": 1}, example='{"order_id": "A-1", "amount": 12.5}')
    assert error.message.endswith('e.g. {"order_id": "A-1", "amount": 12.5}.')
    assert "a JSON array or object" in refused({"x": 1}, {"x": (list, dict)}).message


def test_with_json_body_the_refusal_is_the_kits_json_400() -> None:
    r = request("POST", json={"order_id": 7, "amount": 1})
    with pytest.raises(BadRequest) as raised:
        parsing.require_fields(parsing.json_body(r), ORDER)
    response = http.json_error(raised.value)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_field"  # type: ignore[index]
