"""Keep-alives during an app's silences, and batches of the events already waiting:
the one keep-alive mechanism of every stream the plugin writes (SSE and HTML).

Gateways cut connections that stay silent for ~60 s, and workflows can think far
longer than that between two events. `keepalive_batches` reads the app's events on a
helper thread (a greenlet under the SDK's gevent) and yields `KEEPALIVE` whenever
`silence` seconds pass without one, so the caller can send a comment frame. It yields
the events as lists of those that arrived while the last batch was being written, so
that a burst goes out in a few chunks instead of one per event (each chunk costs the
plugin a stdout message and the daemon a write). It never waits for more: an event
that arrives alone is yielded alone, at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal, cast

from provider.limits import MAX_BATCH


class KeepAlive(Enum):
    """The type of KEEPALIVE (an enum of one, so `item is KEEPALIVE` narrows types)."""

    KEEPALIVE = "KEEPALIVE"

    def __repr__(self) -> str:
        return self.value


#: Yielded by `keepalive_batches` when the source has been silent for `silence` seconds.
KEEPALIVE: Final = KeepAlive.KEEPALIVE


@dataclass(frozen=True)
class _Failed:
    """The source raised `error` (carried to the consumer, raised there unchanged)."""

    error: BaseException


_END: Final = object()


class _Reader[T]:
    """The helpers of one `keepalive_batches` stream and the queue they fill.

    A reader thread puts each item of the source on the queue as soon as it has it
    (at most `limit` ahead of the consumer); a ticker thread puts KEEPALIVE there
    after each `silence` in which no item came. The consumer blocks on the queue
    without a timeout and takes what else is already there without waiting: one
    wake-up per batch, no timer per item (both helpers are greenlets under gevent).
    """

    def __init__(self, source: Iterator[T], silence: float, limit: int) -> None:
        self.source = source
        self.silence = silence
        self.limit = limit
        # looked up now, not at import: gevent's patched queue when the SDK runs us
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.room = threading.Event()  # cleared while the reader waits for the consumer
        self.stopped = threading.Event()
        self.last_item = time.monotonic()

    def start(self) -> None:
        threading.Thread(target=self._read, name="app-events", daemon=True).start()
        threading.Thread(target=self._tick, name="app-keepalive", daemon=True).start()

    def _read(self) -> None:
        try:
            for item in self.source:
                self.last_item = time.monotonic()
                if self.queue.qsize() >= self.limit:  # far ahead of the consumer: wait for it
                    self.room.clear()
                    while self.queue.qsize() >= self.limit and not self.stopped.is_set():
                        self.room.wait(1)
                if self.stopped.is_set():
                    return  # the client went away: ask nothing more of the source
                self.queue.put(item)
        except BaseException as error:  # noqa: BLE001 - carried to the consumer and raised there, unchanged
            self.queue.put(_Failed(error))
        else:
            self.queue.put(_END)

    def _tick(self) -> None:
        while not self.stopped.is_set():
            due = self.last_item + self.silence - time.monotonic()
            if due > 0:
                self.stopped.wait(due)
            else:
                self.last_item = time.monotonic()
                self.queue.put(KEEPALIVE)

    def take(self) -> list[object]:
        """The next item (waiting for it), then every item already queued, up to `limit`."""
        taken = [self.queue.get()]
        while len(taken) < self.limit and taken[-1] is not _END and not isinstance(taken[-1], _Failed):
            try:
                taken.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def stop(self) -> None:
        self.stopped.set()
        self.room.set()  # a reader waiting for room sees `stopped`


def keepalive_batches[T](
    source: Iterator[T], silence: float, limit: int = MAX_BATCH
) -> Generator[list[T] | Literal[KeepAlive.KEEPALIVE], None, None]:
    """Items of `source` in order, in lists of those that arrived while the consumer
    was busy with the previous list (at most `limit`), with KEEPALIVE after each
    `silence` without any.

    A list is yielded as soon as it has one item: nothing waits for more. The source is
    read on a helper thread as fast as it gives items (at most `limit` ahead), so that
    a burst collects while the consumer writes; an exception of the source is raised
    here after the items that came before it. When the consumer stops, the helper asks
    nothing more of the source (a read in progress completes and is dropped).
    """
    reader = _Reader(source, silence, limit)
    reader.start()
    try:
        while True:
            batch: list[T] = []
            for entry in reader.take():
                if entry is KEEPALIVE:
                    continue  # moot next to items (they break the silence); alone, it is yielded below
                if entry is _END or isinstance(entry, _Failed):
                    if batch:
                        yield batch
                    if isinstance(entry, _Failed):
                        raise entry.error
                    return
                batch.append(cast(T, entry))
            if not reader.room.is_set():
                reader.room.set()
            if batch:
                yield batch
            else:
                yield KEEPALIVE
    finally:
        reader.stop()
