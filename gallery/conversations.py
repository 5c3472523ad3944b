"""Duck's conversations: the turns already asked and answered, kept in the plugin's storage.

A follow-up page shows the earlier turns above the new answer. They are read from
`session.storage` (the daemon's key-value store, declared in the manifest with a
quota), never from the request: a client chooses at most which conversation to
continue, by its id, and Dify itself continues any conversation whose id it is
given, so the id is the capability either way.

- Keyed by app and conversation: `duck/conversations/<chat app id>/<conversation id>`.
  A conversation id belongs to one app; if the endpoint's `chat_app` changes, the
  old conversations are not shown under the new app.
- Bounded: the last MAX_TURNS turns, and at most MAX_BYTES per conversation (older
  turns are dropped first; a single huge answer is cut). The manifest's quota
  divided by MAX_BYTES is the number of full conversations that fit.
- Never in the way: a missing, unreadable or corrupt value is an empty history, and
  a storage failure (quota full, daemon error) is logged; the page still answers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from provider import parsing
from provider.log import plugin_logger

logger = plugin_logger(__name__)

#: Turns kept per conversation (the oldest are dropped first).
MAX_TURNS: Final = 20
#: Bytes of stored JSON per conversation. The manifest's storage quota (64 MiB) holds
#: 1,024 conversations at this size, and far more of the usual, shorter ones.
MAX_BYTES: Final = 64 * 1024
#: Files kept per turn, and the longest URL kept.
MAX_FILES: Final = 10
MAX_URL_CHARS: Final = 2048
#: Appended to an answer cut to fit MAX_BYTES.
CUT_MARK: Final = " […]"
KEY_PREFIX: Final = "duck/conversations/"
FORMAT_VERSION: Final = 1

# What may appear in a storage key: the daemon treats `/` as folders and refuses `..`.
_KEY_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class Storage(Protocol):
    """What Duck uses of the SDK's `session.storage` (dify_plugin StorageInvocation)."""

    def get(self, key: str) -> bytes: ...
    def set(self, key: str, val: bytes) -> None: ...
    def exist(self, key: str) -> bool: ...


class CorruptConversation(ValueError):
    """A stored value that is not a conversation this module wrote."""


@dataclass(frozen=True)
class File:
    """A file the app sent with an answer (`message_file`): only http(s) URLs are kept."""

    type: str
    url: str


@dataclass(frozen=True)
class Turn:
    """One question and the app's complete answer to it."""

    query: str
    answer: str
    files: tuple[File, ...] = field(default_factory=tuple)


def public_origin(hook_url: str | None) -> str | None:
    """`scheme://host` of the `Dify-Hook-Url` header the daemon sends (the URL the visitor
    called; read by `parsing.hook_url`), or None when it is not an http(s) URL."""
    parts = parsing.hook_url(hook_url)
    return None if parts is None else f"{parts.scheme}://{parts.netloc}"


def safe_file(event: dict[str, Any], origin: str | None = None) -> File | None:
    """The file of a `message_file` event, or None when its URL is not a plain http(s) URL.

    Dify signs its own files with the `FILES_URL` it was configured with; left empty (the
    docker default), the URL is a path (`/files/tools/<id>.png?...`) on Dify's own host.
    Such a path is resolved against `origin`, the host the visitor reached this endpoint
    on: in the usual set-up one gateway serves both Dify's API and the endpoints."""
    url, kind = event.get("url"), event.get("type")
    if isinstance(url, str) and origin and url.startswith("/") and not url.startswith(("//", "/\\")):
        url = origin + url
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS or not url.lower().startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    return File(type=kind if isinstance(kind, str) and kind else "file", url=url)


def storage_key(app_id: str, conversation_id: str | None) -> str | None:
    """Where a conversation is kept; None when either id could not make a safe key
    (the conversation is then simply not remembered)."""
    if conversation_id is None or not _KEY_PART.fullmatch(app_id):
        return None
    try:
        canonical = str(uuid.UUID(conversation_id))
    except ValueError:
        return None
    return f"{KEY_PREFIX}{app_id}/{canonical}"


def encode(turns: Sequence[Turn]) -> bytes:
    body = {
        "version": FORMAT_VERSION,
        "turns": [
            {"query": t.query, "answer": t.answer, "files": [{"type": f.type, "url": f.url} for f in t.files]}
            for t in turns
        ],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(raw: bytes) -> list[Turn]:
    """The turns in a stored value; CorruptConversation for anything this module did not write."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CorruptConversation("not UTF-8 JSON") from None
    if not isinstance(body, dict) or body.get("version") != FORMAT_VERSION or not isinstance(body.get("turns"), list):
        raise CorruptConversation("not a conversation of this version")
    return [_turn(item) for item in body["turns"][-MAX_TURNS:]]


def _turn(item: object) -> Turn:
    if not isinstance(item, dict):
        raise CorruptConversation("a turn is not an object")
    query, answer, files = item.get("query"), item.get("answer"), item.get("files", [])
    if not isinstance(query, str) or not isinstance(answer, str) or not isinstance(files, list):
        raise CorruptConversation("a turn lacks its query or answer")
    kept = [safe_file(f) for f in files[:MAX_FILES] if isinstance(f, dict)]
    return Turn(query=query, answer=answer, files=tuple(f for f in kept if f is not None))


def bounded(turns: Sequence[Turn]) -> list[Turn]:
    """The last MAX_TURNS turns that fit in MAX_BYTES together; when even the last one
    alone does not fit, its answer (then its question) is cut to fit."""
    kept = list(turns[-MAX_TURNS:])
    while len(kept) > 1 and len(encode(kept)) > MAX_BYTES:
        kept.pop(0)
    if kept and len(encode(kept)) > MAX_BYTES:
        kept = [_cut(kept[0])]
    return kept


def _cut(turn: Turn) -> Turn:
    """`turn` cut to fit MAX_BYTES alone: its answer, then if need be its question, cut to
    the longest prefix that fits (found by bisection: JSON escaping makes some text up to
    six times longer than it looks, so the size cannot be computed from the length)."""
    for name in ("answer", "query"):
        if len(encode([turn])) <= MAX_BYTES:
            break
        text: str = getattr(turn, name)
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if len(encode([_with(turn, name, text[:middle] + CUT_MARK)])) <= MAX_BYTES:
                low = middle
            else:
                high = middle - 1
        turn = _with(turn, name, text[:low] + CUT_MARK if low else "")
    return turn


def _with(turn: Turn, name: str, text: str) -> Turn:
    if name == "answer":
        return Turn(query=turn.query, answer=text, files=turn.files)
    return Turn(query=text, answer=turn.answer, files=turn.files)


@dataclass
class ConversationStore:
    """The turns of one chat app's conversations in `storage`; never raises."""

    storage: Storage
    app_id: str

    def load(self, conversation_id: str | None) -> tuple[list[Turn], bool]:
        """The turns kept for a conversation, and whether they could be read (False: the
        storage failed or held something corrupt; the turns are then empty)."""
        key = storage_key(self.app_id, conversation_id)
        if key is None:
            return [], True
        try:
            if not self.storage.exist(key):
                return [], True
            raw = self.storage.get(key)
        except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception; logged, never shown
            logger.warning("could not read conversation %s: %s", key, error)
            return [], False
        try:
            return decode(raw), True
        except CorruptConversation as error:
            logger.warning("ignoring corrupt conversation %s (%d bytes): %s", key, len(raw), error)
            return [], False

    def save(self, conversation_id: str | None, turns: Sequence[Turn]) -> bool:
        """Keep `turns` (bounded) for the conversation; False when it could not."""
        key = storage_key(self.app_id, conversation_id)
        if key is None:
            return False
        try:
            self.storage.set(key, encode(bounded(turns)))
        except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception; logged, never shown
            logger.warning("could not keep conversation %s: %s", key, error)
            return False
        return True
