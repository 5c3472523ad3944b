"""provider.auth: the optional API key."""

from __future__ import annotations

import hmac

import pytest

from provider import auth
from provider.errors import Unauthorized
from tests.unit.fakes import request

KEY = "s3cret-key"
WRONG = "wr0ng-guess"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("api_key", [None, ""])
def test_without_a_configured_key_anyone_may_call(api_key: str | None) -> None:
    assert auth.require_api_key(request(), api_key) is None
    assert auth.require_api_key(request(headers=bearer(WRONG)), api_key, key_field=WRONG) is None


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_bearer_key_passes_whatever_the_scheme_case(scheme: str) -> None:
    assert auth.require_api_key(request(headers={"Authorization": f"{scheme} {KEY}"}), KEY) is None


@pytest.mark.parametrize("authorization", [None, f"Basic {KEY}", "Bearer", "Bearer    ", KEY])
def test_missing_key_is_401_missing_api_key(authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with pytest.raises(Unauthorized) as raised:
        auth.require_api_key(request(headers=headers), KEY)
    assert raised.value.status == 401
    assert raised.value.code == "missing_api_key"
    assert "Authorization: Bearer <key>" in raised.value.message
    assert "key=" not in raised.value.message  # this endpoint takes no `key` field


def test_wrong_key_is_401_invalid_api_key_and_echoes_neither_key() -> None:
    with pytest.raises(Unauthorized) as raised:
        auth.require_api_key(request(headers=bearer(WRONG)), KEY)
    assert raised.value.code == "invalid_api_key"
    assert WRONG not in raised.value.message
    assert KEY not in raised.value.message


def test_a_page_may_take_the_key_from_a_field_and_carry_it_on() -> None:
    assert auth.require_api_key(request(), KEY, key_field=KEY) == KEY


def test_a_wrong_key_field_is_refused_and_never_returned_to_be_carried_on() -> None:
    with pytest.raises(Unauthorized) as raised:
        auth.require_api_key(request(), KEY, key_field=WRONG)
    assert raised.value.code == "invalid_api_key"
    assert WRONG not in raised.value.message
    # the header proves the caller, but the page must not write the wrong field back
    assert auth.require_api_key(request(headers=bearer(KEY)), KEY, key_field=WRONG) is None


def test_pages_that_take_a_key_field_say_so_when_it_is_missing() -> None:
    with pytest.raises(Unauthorized) as raised:
        auth.require_api_key(request(), KEY, key_field="")
    assert raised.value.code == "missing_api_key"
    assert "key=<key>" in raised.value.message


def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    with pytest.raises(Unauthorized):
        auth.require_api_key(request(headers=bearer(WRONG)), KEY)
    assert compared == [(WRONG.encode(), KEY.encode())]


def test_non_ascii_keys_compare_without_error() -> None:
    with pytest.raises(Unauthorized):
        auth.require_api_key(request(), "clé", key_field="cle")
    assert auth.require_api_key(request(), "clé", key_field="clé") == "clé"
