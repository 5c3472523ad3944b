"""Keep-alives during an app's silences.

Gateways cut connections that stay silent for ~60 s, and workflows can think far
longer than that between two events. `with_keepalive` reads the app's events in a
helper (a greenlet under the SDK's gevent) and yields `KEEPALIVE` whenever
`silence` seconds pass without one, so the caller can send a comment frame.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Final, TypeVar

T = TypeVar("T")


class _KeepAlive:
    def __repr__(self) -> str:
        return "KEEPALIVE"


KEEPALIVE: Final = _KeepAlive()
_DONE: Final = object()


def with_keepalive(source: Iterator[T], silence: float) -> Iterator[T | _KeepAlive]:
    """Items of `source` in order, with KEEPALIVE after each `silence` without one.
    An exception raised by `source` is raised here, at the point it happened."""
    mailbox: queue.Queue[tuple[object, BaseException | None]] = queue.Queue()
    stopped = threading.Event()

    def pump() -> None:
        try:
            for item in source:
                mailbox.put((item, None))
                if stopped.is_set():  # the client went away: stop reading the app
                    return
            mailbox.put((_DONE, None))
        except Exception as error:  # noqa: BLE001 - handed over to the consumer, re-raised there
            mailbox.put((_DONE, error))

    threading.Thread(target=pump, name="app-events", daemon=True).start()
    try:
        while True:
            try:
                item, error = mailbox.get(timeout=silence)
            except queue.Empty:
                yield KEEPALIVE
                continue
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item  # type: ignore[misc]
    finally:
        stopped.set()
