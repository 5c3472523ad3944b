"""`session.storage`: the plugin's key-value store, kept on disk as the daemon keeps it.

Follows dify-plugin-daemon's `executeDifyInvocationStorageTask`
(internal/core/io_tunnel/backwards_invocation/task.go) and its persistence package
(internal/core/persistence/persistence.go, wrapper.go) on the default local storage
(dify-cloud-kit oss/local): one file per key under `<plugin state>/storage/`, at the
key's `path.Clean`ed path (so `a/b` is a file in a folder `a`), the quota counted in a
separate counter as the daemon counts it in its `tenant_storages` table, and reads
served from a five-minute cache as the daemon serves them from Redis. The daemon's
quirks are kept on purpose, because a plugin sees them in production:

- a `set` over the quota fails *after* the value was written (the counter is not
  updated and the cache is not invalidated): `exist` is then true, and `get` returns
  the new value, or the old one while it is cached;
- `get` of a missing key fails (it does not return None);
- `del` of a missing key fails (the daemon stats the file first);
- `deleted_num` counts cache entries, not files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: PERSISTENCE_STORAGE_MAX_SIZE, the daemon's cap over every plugin's own `size`
#: (internal/types/app/default.go: 100 MiB).
DAEMON_MAX_STORAGE_SIZE = 100 * 1024 * 1024
#: persistence.go: `len(key) > 256` (bytes) is refused on `set`.
MAX_KEY_BYTES = 256
#: persistence.go: loaded values are cached for five minutes.
CACHE_SECONDS = 300.0
#: dify_invocation/types.go: StorageOpt.
OPTS = ("get", "set", "del", "exist")

PERMISSION_ERROR = "permission denied, you need to enable storage access in plugin manifest"
LOAD_ERROR = "load data failed, please check if the key is correct or you have not set it"
TRAVERSAL_ERROR = "invalid key: path traversal attempt detected"
QUOTA_ERROR = "allocated size is greater than max storage size"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class ReverseCallError(Exception):
    """A reverse call the daemon answers with an `error` event; `message` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def go_clean(path: str) -> str:
    """Go's `path.Clean` (Python's normpath keeps a leading `//` and differs on "")."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def go_os_error(op: str, path: Path, error: OSError) -> str:
    """An OSError worded as Go's *PathError (`open /x: no such file or directory`)."""
    reason = os.strerror(error.errno) if error.errno else str(error)
    return f"{op} {path}: {reason[:1].lower()}{reason[1:]}"


def validation_error(struct: str, failures: list[tuple[str, str]]) -> ReverseCallError:
    """genericDispatchTask's text when go-playground/validator refuses the request."""
    details = "\n".join(
        f"Key: '{struct}.{field}' Error:Field validation for '{field}' failed on the '{tag}' tag"
        for field, tag in failures
    )
    return ReverseCallError(f"unmarshal backwards invoke request failed: error validating struct: {details}")


def decode_error(name: str, value: object) -> ReverseCallError:
    """genericDispatchTask's text when mapstructure cannot put a value in a string field."""
    kind = {bool: "bool", int: "int", float: "float64", list: "slice", dict: "map"}.get(type(value), "invalid")
    return ReverseCallError(
        "unmarshal backwards invoke request failed: error decoding map: 1 error(s) decoding:\n\n"
        f"* '{name}' expected type 'string', got unconvertible type '{kind}', value: '{value}'"
    )


def go_hex_decode(value: str) -> bytes:
    """Go's hex.DecodeString, with its error texts (the first bad byte, then odd length)."""
    raw = value.encode()
    for byte in raw:
        if chr(byte) not in _HEX_DIGITS:
            char = chr(byte)
            shown = f" '{char}'" if char.isprintable() else ""
            raise ReverseCallError(f"decode data failed: encoding/hex: invalid byte: U+{byte:04X}{shown}")
    if len(raw) % 2:
        raise ReverseCallError("decode data failed: encoding/hex: odd length hex string")
    return bytes.fromhex(value)


class PluginStorage:
    """One plugin's storage (the daemon keys it by plugin id `author/name`)."""

    def __init__(
        self,
        root: Path,
        *,
        enabled: bool,
        size: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root  # <state>/<author>/<name>/storage; created on the first set
        self.usage_file = root.parent / "storage-usage.json"
        self.enabled = enabled
        # resource.permission.storage.size; the daemon uses -1 (its own cap) when absent
        self.size = size
        self._clock = clock
        # raw key -> (expiry, value): the daemon's Redis cache, keyed by the key as sent
        self._cache: dict[str, tuple[float, bytes]] = {}
        self.calls: dict[str, int] = {}

    @property
    def limit(self) -> int:
        """The effective quota in bytes: the manifest's size, capped by the daemon's."""
        own = self.size if self.size is not None else DAEMON_MAX_STORAGE_SIZE
        return min(own, DAEMON_MAX_STORAGE_SIZE)

    # -- the storage reverse call ------------------------------------------------
    def invoke(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The `data` of the daemon's answer to one storage call, or ReverseCallError."""
        opt = request.get("opt")
        self.calls[str(opt)] = self.calls.get(str(opt), 0) + 1
        if not self.enabled:
            raise ReverseCallError(PERMISSION_ERROR)
        opt, key, value = self._parse(request)
        if opt == "get":
            return {"data": self._load(key).hex()}
        if opt == "set":
            data = go_hex_decode(value)
            try:
                self._save(key, data)
            except ReverseCallError as error:
                raise ReverseCallError(f"save data failed: {error.message}") from None
            return {"data": "ok"}
        if opt == "del":
            try:
                deleted = self._delete(key)
            except ReverseCallError as error:
                raise ReverseCallError(f"delete data failed: {error.message}") from None
            return {"data": "ok", "deleted_num": deleted}
        try:
            found = self._exist(key)
        except ReverseCallError as error:
            raise ReverseCallError(f"exist data failed: {error.message}") from None
        return {"data": found > 0, "exist_num": found}

    @staticmethod
    def _parse(request: Mapping[str, Any]) -> tuple[str, str, str]:
        values: dict[str, str] = {}
        for name in ("opt", "key", "value"):
            value = request.get(name)
            if value is None:  # mapstructure: an absent or null field is the zero value ""
                value = ""
            if not isinstance(value, str):
                raise decode_error(name, value)
            values[name] = value
        failures = []
        if not values["opt"]:
            failures.append(("Opt", "required"))
        elif values["opt"] not in OPTS:
            failures.append(("Opt", "storage_opt"))
        if not values["key"]:
            failures.append(("Key", "required"))
        if failures:
            raise validation_error("InvokeStorageRequest", failures)
        return values["opt"], values["key"], values["value"]

    # -- persistence.go ------------------------------------------------------------
    def path_of(self, key: str) -> Path:
        """The file of `key` (wrapper.go: path.Join(root, path.Clean(key)))."""
        cleaned = go_clean(key).lstrip("/")
        path = self.root if cleaned in ("", ".") else self.root / cleaned
        if path != self.root and self.root not in path.parents:  # checked by _check_key already
            raise ReverseCallError(TRAVERSAL_ERROR)
        return path

    @staticmethod
    def _check_key(key: str) -> None:
        cleaned = go_clean(key)
        if ".." in cleaned or "//" in cleaned or "\\" in cleaned:
            raise ReverseCallError(TRAVERSAL_ERROR)

    def _cached(self, key: str) -> bytes | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._cache[key]
            return None
        return entry[1]

    def _load(self, key: str) -> bytes:
        try:
            self._check_key(key)
        except ReverseCallError:
            raise ReverseCallError(LOAD_ERROR) from None
        cached = self._cached(key)
        if cached is not None:
            return cached
        try:
            data = self.path_of(key).read_bytes()
        except (OSError, ReverseCallError):
            raise ReverseCallError(LOAD_ERROR) from None
        self._cache[key] = (self._clock() + CACHE_SECONDS, data)
        return data

    def _save(self, key: str, data: bytes) -> None:
        self._check_key(key)
        if len(key.encode()) > MAX_KEY_BYTES:
            raise ReverseCallError("key length must be less than 256 characters")
        path = self.path_of(key)
        old_size = 0
        with contextlib.suppress(OSError):
            old_size = path.stat().st_size
        self._write(path, data)  # before the quota check, as the daemon does
        diff = len(data) - old_size
        used = self.used()
        if used is None:
            if diff > DAEMON_MAX_STORAGE_SIZE or diff > self._max_size():
                raise ReverseCallError(QUOTA_ERROR)
        elif diff + used > self._max_size() or diff + used > DAEMON_MAX_STORAGE_SIZE:
            raise ReverseCallError(QUOTA_ERROR)
        self._set_used((used or 0) + diff)
        self._cache.pop(key, None)

    def _max_size(self) -> int:
        return self.size if self.size is not None else DAEMON_MAX_STORAGE_SIZE

    def _write(self, path: Path, data: bytes) -> None:
        """dify-cloud-kit's LocalStorage.Save: MkdirAll(dir), then WriteFile."""
        inside = [p for p in reversed(path.parents) if p == self.root or self.root in p.parents]
        for parent in inside:
            if parent.exists() and not parent.is_dir():
                raise ReverseCallError(go_os_error("mkdir", parent, NotADirectoryError(20, "Not a directory")))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ReverseCallError(go_os_error("mkdir", path.parent, error)) from None
        try:
            path.write_bytes(data)
        except OSError as error:
            raise ReverseCallError(go_os_error("open", path, error)) from None

    def _delete(self, key: str) -> int:
        self._check_key(key)
        deleted = 1 if self._cached(key) is not None else 0
        self._cache.pop(key, None)
        path = self.path_of(key)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise ReverseCallError(go_os_error("stat", path, error)) from None
        self._remove(path)
        used = self.used()
        if used is not None:
            self._set_used(used - size)
        return deleted

    def _exist(self, key: str) -> int:
        self._check_key(key)
        if self._cached(key) is not None:
            return 1
        return 1 if self.path_of(key).exists() else 0

    @staticmethod
    def _remove(path: Path) -> None:
        """os.RemoveAll."""
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    # -- the quota counter (the daemon's tenant_storages row) ------------------------
    def used(self) -> int | None:
        """Bytes counted against the quota; None before the first successful set."""
        try:
            raw = json.loads(self.usage_file.read_text())
        except (OSError, ValueError):
            return None
        size = raw.get("size") if isinstance(raw, dict) else None
        return size if isinstance(size, int) else None

    def _set_used(self, size: int) -> None:
        self.usage_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.usage_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"size": size}))
        temporary.replace(self.usage_file)

    # -- devkit inspection (GET/DELETE /devkit/storage) ------------------------------
    def entries(self) -> list[tuple[str, Path]]:
        """Every stored key (a file under the storage folder) with its file, sorted."""
        if not self.root.is_dir():
            return []
        found = [
            (path.relative_to(self.root).as_posix(), path)
            for path in self.root.rglob("*")
            if path.is_file() and not path.is_symlink()
        ]
        return sorted(found)

    def remove(self, key: str) -> bool:
        """Delete one key as `del` would (the counter follows); False when absent."""
        self._cache.clear()
        try:
            self._check_key(key)
            path = self.path_of(key)
        except ReverseCallError:
            return False
        if not path.is_file():
            return False
        self._delete(key)
        return True

    def clear(self) -> int:
        """Delete every key and reset the counter; the number of keys deleted."""
        count = len(self.entries())
        self._cache.clear()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.usage_file.unlink(missing_ok=True)
        return count
