"""Server-Sent Events framing as values, not string-gluing.

One `ServerSentEvent` per frame; `encode()` splits multi-line data into several
`data:` lines as the spec requires (a bare newline inside one `data:` line would
end the field and corrupt the stream) and keeps comments for keep-alives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the only line ends SSE knows


def _one_line(value: str) -> str:
    """Field values other than data/comment must not break the line."""
    return _LINE_BREAK.sub(" ", value).replace("\0", "")


@dataclass(frozen=True)
class ServerSentEvent:
    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    @classmethod
    def json(cls, event: str, payload: Any, *, id: str | None = None) -> ServerSentEvent:
        """A frame whose data is `payload` as compact JSON (always one line)."""
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
        return cls(data=data, event=event, id=id)

    @classmethod
    def keep_alive(cls) -> ServerSentEvent:
        """A comment frame: ignored by EventSource, but it keeps proxies from timing out."""
        return cls(comment="keep-alive")

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _LINE_BREAK.split(self.comment))
        if self.id is not None:
            lines.append(f"id: {_one_line(self.id)}")
        if self.event is not None:
            lines.append(f"event: {_one_line(self.event)}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        if self.data is not None:
            if "\n" in self.data or "\r" in self.data:
                lines.extend(f"data: {line}" for line in _LINE_BREAK.split(self.data))
            else:  # the usual case (JSON data never breaks a line): no regex needed
                lines.append(f"data: {self.data}")
        return ("\n".join(lines) + "\n\n").encode("utf-8")
