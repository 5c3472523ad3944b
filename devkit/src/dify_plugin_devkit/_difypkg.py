"""The .difypkg file format: a plain zip of the plugin directory.

Written deterministically (sorted entries, fixed timestamps and permissions, no
extra fields) so the same tree always gives the same bytes, hence the same
checksum in Dify's plugin identifier. Read back with the checks Dify's daemon
makes (size cap, manifest at the root) plus the one it leaves to zip itself:
no entry may land outside the destination.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from dify_plugin_devkit._errors import PackageFormatError, UnsafeEntryError

#: The daemon's default MAX_PLUGIN_PACKAGE_SIZE (internal/types/app/default.go), applied
#: both to the uploaded file and to the sum of uncompressed entries; the CLI's
#: `--max-size` default is the same 50 MiB, on the uncompressed sum.
MAX_PACKAGE_BYTES = 50 * 1024 * 1024
#: The earliest time a zip can record; any fixed value would do.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644


def pack(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """Zip `(posix path, content)` pairs into deterministic .difypkg bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below means the same everywhere
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def _safe_target(dest: Path, name: str) -> Path:
    pure = PurePosixPath(name.replace("\\", "/"))
    if (
        not name
        or pure.is_absolute()
        or ".." in pure.parts
        or (pure.parts and ":" in pure.parts[0])  # C:foo on Windows
    ):
        raise UnsafeEntryError(f"{name!r}: entry escapes the destination directory")
    target = (dest / pure).resolve()
    if target != dest and dest not in target.parents:
        raise UnsafeEntryError(f"{name!r}: entry escapes the destination directory")
    return target


def unpack(
    pkg_path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
) -> Path:
    """Extract a .difypkg into `dest` (created; must be empty) and return `dest`.

    Refuses, before writing anything, packages Dify would refuse (over the size
    cap, no manifest.yaml at the root) and entries that would escape `dest`
    (absolute paths, `..`, symlinks).
    """
    limit = MAX_PACKAGE_BYTES if max_bytes is None else max_bytes
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    if any(root.iterdir()):
        raise PackageFormatError(f"{root}: destination is not empty")
    try:
        archive = zipfile.ZipFile(pkg_path)
    except zipfile.BadZipFile as exc:
        raise PackageFormatError(f"{pkg_path}: not a zip file ({exc})") from exc
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > limit:
            raise PackageFormatError(f"{pkg_path}: {total} bytes uncompressed, over Dify's {limit}-byte cap")
        if "manifest.yaml" not in {m.filename for m in members}:
            raise PackageFormatError(f"{pkg_path}: no manifest.yaml at the top of the package")
        plan = []
        for member in members:
            if stat.S_ISLNK(member.external_attr >> 16):
                raise UnsafeEntryError(f"{member.filename!r}: symlinks are not allowed")
            plan.append((member, _safe_target(root, member.filename)))
        for member, target in plan:
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    return root
