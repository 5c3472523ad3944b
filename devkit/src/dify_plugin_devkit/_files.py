"""`session.file.upload`: Dify's signed upload URL, its upload endpoint, and the files.

The SDK (dify_plugin/invocations/file.py) asks for an upload URL with the
`upload_file` reverse call, POSTs the file to it as multipart field `file`, expects
201, and builds `UploadFileResponse` from the JSON. The daemon relays the reverse
call to Dify's inner API (`upload/file/request`), which answers
`get_signed_file_url_for_plugin(...)` (api/core/file/helpers.py). The devkit plays
both parts, on its own port so that a serverless plugin reaches it too:

- `POST /files/upload/for-plugin?timestamp&nonce&sign&user_id&tenant_id`: Dify's
  `PluginUploadFileApi` (api/controllers/files/upload.py): the signature binds the
  file name and MIME type of the multipart part (werkzeug's `file.mimetype`: no
  parameters, lower case), the tenant, the user, the timestamp and the nonce; it
  expires after FILES_ACCESS_TIMEOUT (300 s); a nonce may be used again. The file is
  stored as a tool file (api/core/tools/tool_file_manager.py) and answered with 201
  and Dify's `FileResponse`. The endpoint has no size limit of its own.
- `GET /files/tools/<id><extension>?timestamp&nonce&sign`: the record's `preview_url`
  (api/controllers/files/tool_files.py).

Files live under `<plugin state>/files/`: `<id>.json` (the record) and
`blobs/<id><extension>` (the bytes). `FileStore.get` is what the app backend uses to
resolve a `tool_file_id` input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ValidationError

from dify_plugin_devkit._storage import decode_error, validation_error

#: The workspace (tenant) every devkit call runs in, and the end user of endpoint calls
#: (Dify's "DEFAULT-USER" end user: endpoint requests carry no user).
DEVKIT_TENANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "dify-plugin-devkit/tenant"))
DEVKIT_USER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "dify-plugin-devkit/end-user/DEFAULT-USER"))
#: dify_config.FILES_ACCESS_TIMEOUT: how long a signed URL stays valid, seconds.
FILES_ACCESS_TIMEOUT = 300
UPLOAD_PATH = "/files/upload/for-plugin"
_FILE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class StoredFile:
    """A tool file, as Dify's `ToolFile` row plus where the devkit keeps its bytes."""

    id: str
    name: str
    mime_type: str
    size: int
    extension: str  # with its dot, as Dify answers it: ".txt"
    path: Path
    file_key: str
    tenant_id: str = DEVKIT_TENANT_ID
    user_id: str = DEVKIT_USER_ID
    conversation_id: str | None = None
    created_at: float = 0.0

    @property
    def type(self) -> str:
        """The file type an app input takes (the SDK's UploadFileResponse.Type rule)."""
        for kind in ("image", "video", "audio"):
            if self.mime_type.startswith(f"{kind}/"):
                return kind
        return "document"

    def read(self) -> bytes:
        return self.path.read_bytes()

    def response(self, preview_url: str) -> dict[str, Any]:
        """Dify's FileResponse (fields/file_fields.py) as the upload endpoint dumps it."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "extension": self.extension,
            "mime_type": self.mime_type,
            "created_by": None,
            "created_at": None,
            "preview_url": preview_url,
            "source_url": None,
            "original_url": None,
            "user_id": self.user_id,
            "tenant_id": self.tenant_id,
            "conversation_id": self.conversation_id,
            "file_key": self.file_key,
        }


@dataclass(frozen=True)
class AppFile:
    """What an app's file input knows of an uploaded file (the `FileLookup`'s answer):
    the record, a signed URL to read it, and its bytes (the bridges upload them)."""

    name: str
    mime_type: str
    size: int
    extension: str
    tenant_id: str
    url: str
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


def tool_file_extension(mime_type: str) -> str:
    """ToolFileManager's extension: `guess_extension(mimetype) or ".bin"`."""
    return mimetypes.guess_extension(mime_type) or ".bin"


class FileStore:
    """Uploaded files of one plugin, on disk so that they survive a devkit restart."""

    def __init__(
        self, root: Path, *, tenant_id: str = DEVKIT_TENANT_ID, clock: Callable[[], float] = time.time
    ) -> None:
        self.root = root  # <state>/<author>/<name>/files; created on the first put
        self.tenant_id = tenant_id
        self._clock = clock

    def put(
        self,
        name: str,
        content: bytes,
        mime_type: str,
        *,
        user_id: str = DEVKIT_USER_ID,
        conversation_id: str | None = None,
    ) -> StoredFile:
        """Store a file as ToolFileManager.create_file_by_raw does and return its record."""
        extension = tool_file_extension(mime_type)
        unique = uuid.uuid4().hex
        # "Add extension flexibly": a name without a dot gets the MIME type's extension
        shown = name if len(name.split(".")) > 1 else f"{name}{extension}"
        file_id = str(uuid.uuid4())
        blob = self.root / "blobs" / f"{file_id}{extension}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        stored = StoredFile(
            id=file_id,
            name=shown,
            mime_type=mime_type,
            size=len(content),
            extension=extension,
            path=blob,
            file_key=f"tools/{self.tenant_id}/{unique}{extension}",
            tenant_id=self.tenant_id,
            user_id=user_id,
            conversation_id=conversation_id,
            created_at=self._clock(),
        )
        record = {**asdict(stored), "path": blob.relative_to(self.root).as_posix()}
        (self.root / f"{file_id}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this id, or None (also for anything that is not a file id)."""
        if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
            return None
        try:
            record = json.loads((self.root / f"{file_id}.json").read_text())
            stored = StoredFile(**{**record, "path": self.root / record["path"]})
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return stored if stored.path.is_file() else None

    def list(self) -> list[StoredFile]:
        """Every stored file, oldest first."""
        if not self.root.is_dir():
            return []
        found = (self.get(path.stem) for path in self.root.glob("*.json"))
        return sorted((f for f in found if f is not None), key=lambda f: (f.created_at, f.id))


class SecretKey:
    """Dify's SECRET_KEY: signs upload and preview URLs. Kept in the state folder and
    created on first use, so that URLs signed before a devkit restart stay valid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            if not self.path.is_file():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32))
            self._key = self.path.read_text().strip().encode()
        return self._key

    def sign(self, message: str) -> str:
        """`base64.urlsafe_b64encode(hmac-sha256(SECRET_KEY, message))`, as Dify signs."""
        digest = hmac.new(self.key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()


class PluginUploadQuery(BaseModel):
    """The query of the upload endpoint (a pydantic model in Dify too: a missing field is
    a ValueError, which Dify's API answers 400 invalid_param)."""

    timestamp: str
    nonce: str
    sign: str
    tenant_id: str
    user_id: str | None = None


def dify_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """An error as Dify's API answers it (libs/external_api.py)."""
    return web.json_response({"code": code, "message": message, **extra, "status": status}, status=status)


def forbidden(message: str = "Invalid request.") -> web.Response:
    return dify_error(403, "forbidden", message)


class FileService:
    """Dify's side of file uploads: the signed URL, the upload and preview endpoints."""

    def __init__(
        self,
        store: FileStore,
        secret: SecretKey,
        base_url: Callable[[], str],
        *,
        user_id: str = DEVKIT_USER_ID,
        access_timeout: int = FILES_ACCESS_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.secret = secret
        self.base_url = base_url  # the devkit's own URL (INTERNAL_FILES_URL / FILES_URL)
        self.user_id = user_id
        self.access_timeout = access_timeout
        self._clock = clock
        self.uploads = 0  # files stored through the upload endpoint

    # -- the upload_file reverse call ------------------------------------------------
    def invoke(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The daemon's answer to `upload_file`: `{"url": <signed upload URL>}`."""
        values = {}
        for name in ("filename", "mimetype"):
            value = request.get(name)
            value = "" if value is None else value
            if not isinstance(value, str):
                raise decode_error(name, value)
            values[name] = value
        fields = (("Filename", "filename"), ("MimeType", "mimetype"))
        failures = [(field, "required") for field, name in fields if not values[name]]
        if failures:
            raise validation_error("UploadFileRequest", failures)
        return {"url": self.upload_url(values["filename"], values["mimetype"])}

    def upload_url(self, filename: str, mimetype: str) -> str:
        """get_signed_file_url_for_plugin."""
        timestamp = str(int(self._clock()))
        nonce = os.urandom(16).hex()
        tenant = self.store.tenant_id
        sign = self.secret.sign(f"upload|{filename}|{mimetype}|{tenant}|{self.user_id}|{timestamp}|{nonce}")
        return (
            f"{self.base_url()}{UPLOAD_PATH}?timestamp={timestamp}&nonce={nonce}&sign={sign}"
            f"&user_id={self.user_id}&tenant_id={tenant}"
        )

    def preview_url(self, stored: StoredFile) -> str:
        """ToolFileManager.sign_file: FILES_URL/files/tools/<id><extension>?..."""
        timestamp = str(int(self._clock()))
        nonce = os.urandom(16).hex()
        sign = self.secret.sign(f"file-preview|{stored.id}|{timestamp}|{nonce}")
        url = f"{self.base_url()}/files/tools/{stored.id}{stored.extension}"
        return f"{url}?timestamp={timestamp}&nonce={nonce}&sign={sign}"

    def app_file(self, file_id: str) -> AppFile | None:
        """An uploaded file as an app run sees it: the record and a signed URL to read it
        (Dify's File.generate_url: the tool file's preview URL)."""
        stored = self.store.get(file_id)
        if stored is None:
            return None
        url = self.preview_url(stored)
        return AppFile(stored.name, stored.mime_type, stored.size, stored.extension, stored.tenant_id, url, stored.path)

    def _fresh(self, message: str, timestamp: str, sign: str) -> bool:
        """verify_plugin_file_signature / verify_tool_file_signature (ValueError on a
        timestamp that is not a number, as int() raises in Dify)."""
        if not hmac.compare_digest(sign.encode(), self.secret.sign(message).encode()):
            return False
        return int(self._clock()) - int(timestamp) <= self.access_timeout

    # -- HTTP --------------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(UPLOAD_PATH, self.upload)
        router.add_get("/files/tools/{file_id:[0-9a-fA-F-]{36}}.{extension}", self.preview)
        router.add_get("/devkit/files", self.list_files)

    async def upload(self, request: web.Request) -> web.Response:
        """PluginUploadFileApi.post."""
        query = {key: request.query.get(key) for key in request.query}
        try:
            args = PluginUploadQuery.model_validate(query)
        except ValidationError as error:
            return dify_error(400, "invalid_param", str(error))
        part = await self._file_part(request)
        if part is None:
            return forbidden("File is required.")
        filename, content_type, content = part
        mimetype = content_type.split(";", 1)[0].strip().lower()  # werkzeug's FileStorage.mimetype
        if not filename or not mimetype:
            return forbidden()
        # get_user(tenant_id, user_id): no user id is the "DEFAULT-USER" end user
        user_id = args.user_id or DEVKIT_USER_ID
        message = f"upload|{filename}|{mimetype}|{args.tenant_id}|{user_id}|{args.timestamp}|{args.nonce}"
        try:
            if not self._fresh(message, args.timestamp, args.sign):
                return forbidden()
        except ValueError as error:
            return dify_error(400, "invalid_param", str(error))
        stored = self.store.put(filename, content, mimetype, user_id=user_id)
        self.uploads += 1
        return web.json_response(stored.response(self.preview_url(stored)), status=201)

    @staticmethod
    async def _file_part(request: web.Request) -> tuple[str, str, bytes] | None:
        """(filename, content type, bytes) of the first multipart file field `file`."""
        if request.content_type != "multipart/form-data":
            return None
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                return None
            if not isinstance(part, BodyPartReader) or part.name != "file" or part.filename is None:
                continue  # werkzeug puts a part without a file name in request.form
            content = bytearray()  # chunk by chunk: part.read() stops at the daemon's client_max_size
            while chunk := await part.read_chunk(1024 * 1024):
                content.extend(chunk)
            return part.filename, part.headers.get("Content-Type", ""), bytes(content)

    async def preview(self, request: web.Request) -> web.StreamResponse:
        """ToolFilePreviewApi.get."""
        file_id = request.match_info["file_id"].lower()
        for name in ("timestamp", "nonce", "sign"):
            if not request.query.get(name):
                message = "Missing required parameter in the query string"
                return dify_error(400, "invalid_param", message, params=name)
        timestamp, nonce, sign = (request.query[name] for name in ("timestamp", "nonce", "sign"))
        try:
            if not self._fresh(f"file-preview|{file_id}|{timestamp}|{nonce}", timestamp, sign):
                return forbidden()
        except ValueError as error:
            return dify_error(400, "invalid_param", str(error))
        stored = self.store.get(file_id)
        if stored is None:  # Dify's NotFound is caught and re-raised as this
            return dify_error(415, "unsupported_file_type", "File type not allowed.")
        headers = {"Content-Length": str(stored.size)} if stored.size > 0 else {}
        if request.query.get("as_attachment"):
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stored.name)}"
        return web.Response(body=stored.read(), content_type=stored.mime_type, headers=headers)

    async def list_files(self, request: web.Request) -> web.Response:
        """Devkit-only: every stored file, with a fresh preview URL."""
        files = [
            {
                **stored.response(self.preview_url(stored)),
                "type": stored.type,
                "path": str(stored.path),
                "stored_at": stored.created_at,
            }
            for stored in self.store.list()
        ]
        return web.json_response({"files": files})
