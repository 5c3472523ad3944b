"""provider.errors.Unauthorized: the 401's challenge names only the scheme it speaks."""

from __future__ import annotations

from provider import http
from provider.errors import Unauthorized


def test_the_kits_api_key_401_still_challenges_bearer() -> None:
    error = Unauthorized("Send the key.", code="missing_api_key")
    assert error.scheme == "Bearer"
    assert http.json_error(error).headers["WWW-Authenticate"] == f'Bearer realm="{http.realm()}"'


def test_a_401_of_another_scheme_claims_no_bearer_challenge() -> None:
    error = Unauthorized("Sign the request.", code="invalid_signature", scheme=None)
    response = http.json_error(error)
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers
    page = http.html_error(error, "<p>No.</p>", {})
    assert "WWW-Authenticate" not in page.headers


def test_a_named_scheme_is_the_one_challenged() -> None:
    response = http.json_error(Unauthorized("Log in.", scheme="Basic"))
    assert response.headers["WWW-Authenticate"] == f'Basic realm="{http.realm()}"'
