"""provider.pacing: keep-alives in silences, nothing lost, nothing read ahead."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from provider.errors import AppFailed
from provider.pacing import KEEPALIVE, keepalive_batches

QUICK = 0.01  # seconds of silence before a keep-alive, in these tests


def items(batches: Iterator[object]) -> list[object]:
    """The items of every batch, in order (keep-alives left out)."""
    return [item for batch in batches if batch is not KEEPALIVE for item in batch]  # type: ignore[attr-defined]


def test_items_pass_in_order_without_keep_alives_when_the_source_is_quick() -> None:
    assert list(keepalive_batches(iter([1, 2, 3]), silence=5, limit=1)) == [[1], [2], [3]]


def test_a_timeout_of_the_source_is_an_error_not_a_silence() -> None:
    def source() -> Iterator[int]:
        raise TimeoutError("the source's own")
        yield 1

    with pytest.raises(TimeoutError, match="the source's own"):
        list(itertools.islice(keepalive_batches(source(), silence=QUICK), 5))


def test_stopping_during_a_silence_does_not_wait_for_the_source() -> None:
    gate = threading.Event()

    def source() -> Iterator[int]:
        gate.wait(5)
        yield 1

    batches = keepalive_batches(source(), silence=QUICK)
    assert next(batches) is KEEPALIVE
    started = time.monotonic()
    batches.close()
    assert time.monotonic() - started < 4  # not the source's 5 s (slack for a busy machine)
    gate.set()  # let the helper finish


# --- keepalive_batches: the events already waiting, together -------------------------


def paused_source(first: list[int], then: list[int], ready: threading.Event, gate: threading.Event) -> Iterator[int]:
    """`first` at once; then `then` once the test opens `gate`, after which `ready` is
    set and the source stays silent (until the gate's long timeout)."""
    yield from first
    gate.wait(5)
    yield from then
    ready.set()
    gate.wait(5)


def test_items_already_waiting_come_out_as_one_batch() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([1], [2, 3, 4], ready, gate), silence=5)
    assert next(batches) == [1]
    gate.set()
    assert ready.wait(2)  # 2, 3 and 4 have been read while nobody took them
    assert next(batches) == [2, 3, 4]
    batches.close()


def test_a_lone_item_is_yielded_at_once_without_waiting_for_more() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([1], [2], ready, gate), silence=5)
    assert next(batches) == [1]  # a batcher that waited for more would give [1, 2]
    assert not gate.is_set()
    gate.set()
    assert next(batches) == [2]
    batches.close()


def test_a_batch_holds_at_most_the_limit() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([0], list(range(1, 8)), ready, gate), silence=5, limit=3)
    assert next(batches) == [0]
    gate.set()
    taken: list[int] = []
    while len(taken) < 7:
        batch = next(batches)
        assert batch is not KEEPALIVE
        assert len(batch) <= 3
        taken += batch
    assert taken == list(range(1, 8))
    batches.close()


def test_batches_keep_the_order_and_end_with_the_source() -> None:
    items = [item for batch in keepalive_batches(iter(range(1000)), silence=5) for item in batch]  # type: ignore[union-attr]
    assert items == list(range(1000))


def test_silence_between_batches_yields_keep_alives() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([1], [2], ready, gate), silence=QUICK)
    assert next(batches) == [1]
    assert next(batches) is KEEPALIVE
    assert next(batches) is KEEPALIVE
    gate.set()
    assert next(b for b in batches if b is not KEEPALIVE) == [2]


def test_an_error_of_the_source_comes_after_the_items_before_it() -> None:
    failure = AppFailed("boom", code="app_stream_failed")

    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise failure

    taken: list[int] = []

    def drain() -> None:
        for batch in keepalive_batches(source(), silence=5):
            assert batch is not KEEPALIVE
            taken.extend(batch)

    with pytest.raises(AppFailed) as raised:
        drain()
    assert taken == [1, 2]
    assert raised.value is failure


def test_reading_stops_soon_after_the_consumer_stops() -> None:
    read: list[int] = []

    def source() -> Iterator[int]:
        for i in itertools.count():
            read.append(i)
            yield i

    batches = keepalive_batches(source(), silence=5, limit=4)
    assert next(batches)
    batches.close()  # the client went away
    time.sleep(0.05)
    seen = len(read)
    time.sleep(0.05)
    assert len(read) == seen  # nothing more is asked of the source
    assert seen <= 4 + 4 + 2  # at most the batch taken, a full queue and the read in progress


# --- mutation testing (issue #14): names, limits and timings the tests above leave open ---


def test_a_none_item_is_an_item_not_the_end() -> None:
    assert items(keepalive_batches(iter([1, None, 2]), silence=5)) == [1, None, 2]


def test_the_apps_events_are_read_on_a_thread_named_for_them() -> None:
    def source() -> Iterator[str]:
        yield threading.current_thread().name

    assert items(keepalive_batches(source(), silence=5)) == ["app-events"]


def test_the_batch_helpers_are_named_daemon_threads() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([1], [], ready, gate), silence=5)
    assert next(batches) == [1]
    helpers = {t.name: t.daemon for t in threading.enumerate() if t.name in ("app-events", "app-keepalive")}
    gate.set()
    batches.close()
    assert helpers == {"app-events": True, "app-keepalive": True}  # neither keeps the plugin from exiting


def test_the_reader_holds_back_once_the_limit_is_queued() -> None:
    read: list[int] = []

    def source() -> Iterator[int]:
        for n in range(10):
            read.append(n)
            yield n

    batches = keepalive_batches(source(), silence=5, limit=3)
    first = next(batches)
    time.sleep(0.3)  # the reader runs ahead while the consumer is busy
    assert len(read) == len(first) + 3 + 1  # three queued, one in hand waiting for room
    batches.close()


def test_a_keep_alive_queued_before_items_does_not_lose_them() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([1], [2, 3], ready, gate), silence=QUICK)
    assert next(batches) == [1]
    time.sleep(0.2)  # busy: the ticker queues keep-alives during the silence
    gate.set()
    assert ready.wait(2)
    time.sleep(0.05)
    items: list[int] = []
    while len(items) < 2:
        batch = next(batches)
        if batch is not KEEPALIVE:
            items.extend(batch)
    batches.close()
    assert items == [2, 3]


def test_the_first_keep_alive_comes_a_full_silence_after_the_last_item() -> None:
    ready, gate = threading.Event(), threading.Event()
    batches = keepalive_batches(paused_source([1], [], ready, gate), silence=0.5)
    assert next(batches) == [1]
    start = time.monotonic()
    assert next(batches) is KEEPALIVE
    waited = time.monotonic() - start
    gate.set()
    batches.close()
    assert waited >= 0.4


def test_a_slow_consumer_lets_the_reader_go_on_at_once() -> None:
    start = time.monotonic()
    taken = []
    for batch in keepalive_batches(iter(range(20)), silence=5, limit=2):
        assert batch is not KEEPALIVE
        taken.extend(batch)
        time.sleep(0.01)  # the reader fills the queue and waits for room meanwhile
    assert taken == list(range(20))
    assert time.monotonic() - start < 10  # not one second per wait (the helper's fallback poll), 20 s in all
