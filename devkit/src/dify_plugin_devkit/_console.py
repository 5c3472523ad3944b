"""Console output of the devkit: every line prefixed with where it came from.

Plugin stderr, plugin `log` events and the devkit's own notes interleave in one
terminal during `make dev`; a fixed prefix per source keeps them readable.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

_lock = threading.Lock()


def say(source: str, message: str, *, stream: TextIO | None = None) -> None:
    """Print each line of `message` as `[source] line`."""
    out = stream or sys.stderr
    with _lock:
        for line in message.splitlines() or [""]:
            out.write(f"[{source}] {line}\n")
        out.flush()
