"""Absolute deadlines over async streams, as the daemon's timers cut them.

The daemon's limits are wall-clock timers started once (`time.AfterFunc`,
`context.WithTimeout`), not idle timers: `iterate_until` yields the items of a
stream until a fixed moment, then raises TimeoutError. Only the wait for the next
item is ever cancelled, never the consumer's own work between two items.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator


async def iterate_until[T](source: AsyncIterable[T], seconds: float | None) -> AsyncIterator[T]:
    """The items of `source` until `seconds` after the first call, then TimeoutError
    (`source` is closed). None: no deadline."""
    iterator = aiter(source)
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    try:
        while True:
            try:
                if deadline is None:
                    item = await anext(iterator)
                else:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise TimeoutError
                    item = await asyncio.wait_for(anext(iterator), remaining)
            except StopAsyncIteration:
                return
            yield item
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
