"""What a plugin keeps between requests: its storage and its uploaded files.

Everything lives in the devkit's state folder (`state_dir:` in the configuration,
`--state-dir`, default `.devkit-state/` in the plugin directory), one folder per
plugin id, the way the daemon keys storage by `author/name`:

    .devkit-state/
      secret-key                    Dify's SECRET_KEY stand-in (signs upload URLs)
      <author>/<name>/
        storage/<key>               one file per storage key
        storage-usage.json          bytes counted against the storage quota
        files/<id>.json             an uploaded file's record
        files/blobs/<id><ext>       its bytes

Nothing is created before the plugin stores or uploads something.

Routes (devkit-only, for tests and debugging): `GET /devkit/storage` lists the keys
with their sizes and values (hex; `?encoding=base64`), `DELETE /devkit/storage`
clears it, `DELETE /devkit/storage/<key>` deletes one key; `GET /devkit/files`
lists the uploaded files. Dify's own upload routes are in `_files`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from dify_plugin_devkit._declarations import PluginInfo
from dify_plugin_devkit._files import FileService, FileStore, SecretKey
from dify_plugin_devkit._storage import PluginStorage, ReverseCallError

#: The state folder's name when neither the configuration nor --state-dir names one.
DEFAULT_STATE_DIR = ".devkit-state"
#: The reverse calls answered here (the SDK's InvokeType values).
STATE_INVOKE_TYPES = frozenset({"storage", "upload_file"})

__all__ = ["DEFAULT_STATE_DIR", "STATE_INVOKE_TYPES", "PluginState", "ReverseCallError"]


@dataclass
class PluginState:
    """One plugin's storage and files, and the HTTP routes that expose them."""

    state_dir: Path
    plugin_id: str  # author/name
    storage: PluginStorage
    files: FileStore
    uploads: FileService

    @classmethod
    def open(cls, state_dir: Path, plugin: PluginInfo, base_url: Callable[[], str]) -> PluginState:
        """The state of `plugin` under `state_dir`; `base_url()` is the devkit's URL
        once it listens (the signed upload URLs point there)."""
        state_dir = state_dir.resolve()
        manifest = plugin.manifest
        plugin_id = f"{manifest.author}/{manifest.name}"
        folder = state_dir / plugin_id
        permission = manifest.resource.permission
        storage = permission.storage if permission is not None else None
        store = FileStore(folder / "files")
        return cls(
            state_dir=state_dir,
            plugin_id=plugin_id,
            storage=PluginStorage(
                folder / "storage",
                enabled=bool(storage and storage.enabled),
                size=storage.size if storage is not None else None,
            ),
            files=store,
            uploads=FileService(store, SecretKey(state_dir / "secret-key"), base_url),
        )

    def invoke(self, invoke_type: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """The `data` of the daemon's `struct` answer, or ReverseCallError."""
        if invoke_type == "storage":
            return self.storage.invoke(request)
        if invoke_type == "upload_file":
            return self.uploads.invoke(request)
        raise ValueError(f"not a state call: {invoke_type}")

    def stats(self) -> dict[str, Any]:
        """What `/devkit/stats` adds: storage calls per operation, files uploaded."""
        return {"storage_ops": dict(self.storage.calls), "uploads": self.uploads.uploads}

    # -- HTTP --------------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        self.uploads.add_routes(router)
        router.add_get("/devkit/storage", self.list_storage)
        router.add_delete("/devkit/storage", self.clear_storage)
        router.add_delete("/devkit/storage/{key:.+}", self.delete_key)

    async def list_storage(self, request: web.Request) -> web.Response:
        encoding = request.query.get("encoding", "hex")
        if encoding not in ("hex", "base64"):
            return web.json_response({"error": "encoding must be hex or base64"}, status=400)
        keys = []
        for key, path in self.storage.entries():
            value = path.read_bytes()
            shown = value.hex() if encoding == "hex" else base64.b64encode(value).decode()
            keys.append({"key": key, "size": len(value), "value": shown})
        body = {
            "plugin_id": self.plugin_id,
            "enabled": self.storage.enabled,
            "path": str(self.storage.root),
            "quota": self.storage.limit,
            "used": self.storage.used() or 0,
            "encoding": encoding,
            "keys": keys,
        }
        return web.json_response(body)

    async def clear_storage(self, request: web.Request) -> web.Response:
        return web.json_response({"deleted": self.storage.clear()})

    async def delete_key(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if not self.storage.remove(key):
            return web.json_response({"error": f"no such key: {key}"}, status=404)
        return web.json_response({"deleted": key})
