"""Whatever a client sends, the answer is a clear 2xx/4xx: never a 500, never a traceback.

Bounded: a fixed number of examples per route, all against 127.0.0.1.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dify_plugin_devkit.testing import RunningDevkit
from tests.conftest import DEFAULT_PROFILE

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
BODY = st.one_of(
    JSON.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={"inputs": JSON, "response_mode": JSON, "user": JSON}).map(
        lambda v: json.dumps(
            {**v, "response_mode": "blocking"} if isinstance(v.get("response_mode"), str) else v
        ).encode()
    ),
    st.binary(max_size=64),
)
QUERY = st.dictionaries(
    st.sampled_from(["query", "conversation_id", "user", "key", "inputs", "x"]), st.text(max_size=30), max_size=4
)
LEAKS = (
    "Traceback",
    "Internal Server Error",
    'File "',
    "Exception",
    # the daemon's wording for a failed app call: it must never reach a client
    "invoke app failed",
    "request failed with status code",
    "respond with",
    "read app failed",
)
# Derandomised unless HYPOTHESIS_PROFILE=random (see tests/conftest.py): the loaded profile is the parent.
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:300]
    text = response.text.lower()
    assert not any(leak.lower() in text for leak in LEAKS), response.text[:300]


def test_the_fuzz_is_derandomised_unless_a_random_run_is_asked_for() -> None:
    """A failure in `make test` (or CI) must come back on the next run with the same examples."""
    assert FUZZ.derandomize is (os.environ.get("HYPOTHESIS_PROFILE", DEFAULT_PROFILE) == DEFAULT_PROFILE)


@pytest.mark.parametrize(("route", "hook"), [("/completion", "unrecognised-failure"), ("/workflow", "failing")])
@FUZZ
@given(mode=st.sampled_from(["blocking", "streaming"]), inputs=st.dictionaries(st.text(max_size=8), JSON, max_size=3))
def test_failing_apps_never_leak_the_daemons_words(
    gallery: RunningDevkit, route: str, hook: str, mode: str, inputs: dict
) -> None:
    with httpx.Client(timeout=30) as client:
        body = json.dumps({"inputs": inputs, "response_mode": mode}).encode()
        response = client.post(gallery.url(hook, route), content=body, headers={"Content-Type": "application/json"})
    text = response.text.lower()
    assert not any(leak.lower() in text for leak in LEAKS), response.text[:300]


@pytest.mark.parametrize("route", ["/workflow", "/completion", "/duck"])
@FUZZ
@given(body=BODY)
def test_any_post_body_gets_a_clean_answer(gallery: RunningDevkit, route: str, body: bytes) -> None:
    with httpx.Client(timeout=30) as client:
        assert_clean(
            client.post(gallery.url("open", route), content=body, headers={"Content-Type": "application/json"})
        )


@pytest.mark.parametrize("route", ["/workflow", "/completion", "/duck"])
@FUZZ
@given(params=QUERY)
def test_any_query_string_gets_a_clean_answer(gallery: RunningDevkit, route: str, params: dict[str, str]) -> None:
    with httpx.Client(timeout=30) as client:
        assert_clean(client.get(gallery.url("open", route), params=params))
