"""provider.pacing: keep-alives in silences, nothing lost, nothing read ahead."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from provider.errors import AppFailed
from provider.pacing import KEEPALIVE, with_keepalive

QUICK = 0.01  # seconds of silence before a keep-alive, in these tests


def test_items_pass_in_order_without_keep_alives_when_the_source_is_quick() -> None:
    assert list(with_keepalive(iter([1, 2, 3]), silence=5)) == [1, 2, 3]


def test_silence_yields_keep_alives_until_the_next_item() -> None:
    gate = threading.Event()

    def source() -> Iterator[str]:
        yield "first"
        gate.wait(2)
        yield "second"

    paced = with_keepalive(source(), silence=QUICK)
    assert next(paced) == "first"
    assert next(paced) is KEEPALIVE
    assert next(paced) is KEEPALIVE
    gate.set()
    rest = list(paced)
    assert rest[-1] == "second"
    assert set(rest[:-1]) <= {KEEPALIVE}


def test_an_error_of_the_source_is_raised_where_it_happened() -> None:
    failure = AppFailed("boom", code="app_stream_failed")

    def source() -> Iterator[int]:
        yield 1
        raise failure

    paced = with_keepalive(source(), silence=5)
    assert next(paced) == 1
    with pytest.raises(AppFailed) as raised:
        next(paced)
    assert raised.value is failure


def test_a_timeout_of_the_source_is_an_error_not_a_silence() -> None:
    def source() -> Iterator[int]:
        raise TimeoutError("the source's own")
        yield 1

    with pytest.raises(TimeoutError, match="the source's own"):
        list(itertools.islice(with_keepalive(source(), silence=QUICK), 5))


def test_nothing_more_is_read_once_the_consumer_stops() -> None:
    read: list[int] = []

    def source() -> Iterator[int]:
        for i in itertools.count():
            read.append(i)
            yield i

    paced = with_keepalive(source(), silence=5)
    assert next(paced) == 0
    paced.close()  # the client went away
    time.sleep(QUICK)
    assert read == [0]


def test_stopping_during_a_silence_does_not_wait_for_the_source() -> None:
    gate = threading.Event()

    def source() -> Iterator[int]:
        gate.wait(5)
        yield 1

    paced = with_keepalive(source(), silence=QUICK)
    assert next(paced) is KEEPALIVE
    started = time.monotonic()
    paced.close()
    assert time.monotonic() - started < 0.5
    gate.set()  # let the helper finish
