"""Keep-alives during an app's silences.

Gateways cut connections that stay silent for ~60 s, and workflows can think far
longer than that between two events. `with_keepalive` reads the app's events on a
helper thread (a greenlet under the SDK's gevent) and yields `KEEPALIVE` whenever
`silence` seconds pass without one, so the caller can send a comment frame.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from enum import Enum
from typing import Final, Literal, cast


class KeepAlive(Enum):
    """The type of KEEPALIVE (an enum of one, so `item is KEEPALIVE` narrows types)."""

    KEEPALIVE = "KEEPALIVE"

    def __repr__(self) -> str:
        return self.value


#: Yielded by `with_keepalive` when the source has been silent for `silence` seconds.
KEEPALIVE: Final = KeepAlive.KEEPALIVE
_DONE: Final = object()


def with_keepalive[T](source: Iterator[T], silence: float) -> Generator[T | Literal[KeepAlive.KEEPALIVE], None, None]:
    """Items of `source` in order, with KEEPALIVE after each `silence` without one.

    An exception raised by `source` is raised here, at the point it happened (the
    helper's future carries it over, so nothing is caught and re-wrapped). One item
    is read at a time: when the consumer stops (the client went away), no further
    item is asked of the app.
    """
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="app-events")
    try:
        while True:
            pending = reader.submit(next, source, _DONE)
            while not wait([pending], timeout=silence).done:
                yield KEEPALIVE
            item = pending.result()  # raises what `source` raised
            if item is _DONE:
                return
            yield cast(T, item)
    finally:
        # Never wait here for a silent app: the helper ends once its pending read returns.
        reader.shutdown(wait=False, cancel_futures=True)
