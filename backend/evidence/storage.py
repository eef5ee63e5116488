"""Where evidence bytes live, behind a four-method interface so object storage can replace disk.

Keys are produced by our own code (see the ``*_key`` helpers), never taken from a client;
they are still validated so that a bug cannot turn into a path traversal. A bad key is a
programming error and raises ``ValueError``.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

FILE_MODE = 0o640
DIR_MODE = 0o750
_KEY = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
_MAX_KEY_LENGTH = 128  # Evidence.*_key columns are Varchar(128)


@runtime_checkable
class EvidenceStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...  # raises KeyError if absent
    def delete(self, key: str) -> None: ...  # idempotent
    def exists(self, key: str) -> bool: ...


def validate_key(key: str) -> str:
    """Relative, ``[A-Za-z0-9/_.-]`` only, and no segment starting with a dot.

    Banning leading dots rules out ``.``/``..`` and keeps keys apart from our temp files.
    """
    if (not isinstance(key, str) or len(key) > _MAX_KEY_LENGTH or not _KEY.fullmatch(key)
            or any(part.startswith(".") for part in key.split("/"))):
        raise ValueError(f"invalid evidence storage key: {key!r}")
    return key


def incoming_key(upload_id: uuid.UUID | str) -> str:
    """Raw upload awaiting the worker."""
    return validate_key(f"incoming/{uuid.UUID(str(upload_id))}")


def image_key(sha256: str, extension: str) -> str:
    """Content-addressed stored image (``extension`` as in ``ProcessedImage.extension``)."""
    return validate_key(f"images/{_hex64(sha256)}.{extension}")


def thumbnail_key(sha256: str) -> str:
    """Thumbnail, keyed by the *image's* sha256; thumbnails are always JPEG."""
    return validate_key(f"thumbs/{_hex64(sha256)}.jpg")


def _hex64(sha256: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return sha256


class LocalDiskStorage:
    """Files under ``root``; a reader sees either the old file or the new one, never half."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalDiskStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        _make_dirs(path.parent)
        tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        try:
            try:
                os.fchmod(fd, FILE_MODE)  # exact mode regardless of umask
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)  # make the rename itself durable

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except NotADirectoryError:
            pass

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _make_dirs(directory: Path) -> None:
    """Like ``mkdir -p`` but every new level gets DIR_MODE (pathlib gives parents 0o777 & ~umask)."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        try:
            os.mkdir(new, DIR_MODE)
        except FileExistsError:
            if not new.is_dir():
                raise


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def default_storage(var_dir: Path) -> LocalDiskStorage:
    return LocalDiskStorage(Path(var_dir) / "evidence")
