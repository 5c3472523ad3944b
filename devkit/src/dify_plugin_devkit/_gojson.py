"""JSON as Go's `encoding/json.Marshal` writes it, for bodies the daemon sends.

Compact (no spaces), UTF-8 kept as is, and `<`, `>`, `&`, U+2028, U+2029 escaped
as `\\u003c`-style sequences (Go's HTML-safe default). Maps (Go `map[string]any`,
gin.H) are written with sorted keys; structs in field order: callers say which.
"""

from __future__ import annotations

import json
from typing import Any

_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def go_json(value: Any, *, sort_keys: bool = False) -> str:
    """`json.Marshal(value)`; the escaped characters can only occur inside strings."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    return text.translate(_HTML_SAFE)
