from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from backend.evidence import storage as storage_module
from backend.evidence.storage import (
    EvidenceStorage,
    LocalDiskStorage,
    default_storage,
    image_key,
    incoming_key,
    thumbnail_key,
    validate_key,
)

SHA = "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> LocalDiskStorage:
    return LocalDiskStorage(tmp_path / "evidence")


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


def test_satisfies_protocol(store: LocalDiskStorage) -> None:
    assert isinstance(store, EvidenceStorage)


def test_default_storage(tmp_path: Path) -> None:
    assert default_storage(tmp_path).root == tmp_path / "evidence"


def test_put_get_exists_delete(store: LocalDiskStorage) -> None:
    key = "images/" + SHA + ".jpg"
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.get(key)
    store.put(key, b"\xff\xd8photo")
    assert store.exists(key)
    assert store.get(key) == b"\xff\xd8photo"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # idempotent
    store.delete("never/was/here")
    with pytest.raises(KeyError):
        store.get(key)


def test_put_creates_directories_and_private_files(store: LocalDiskStorage) -> None:
    old = os.umask(0o000)  # the mode must not depend on the umask
    try:
        store.put("thumbs/a/b/c.jpg", b"x")
    finally:
        os.umask(old)
    path = store.root / "thumbs/a/b/c.jpg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    for directory in (store.root, store.root / "thumbs", store.root / "thumbs/a", path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o750, directory


def test_overwrite_replaces_whole_file_and_leaves_no_temp(store: LocalDiskStorage) -> None:
    store.put("incoming/x", b"a" * 100_000)
    store.put("incoming/x", b"b")
    assert store.get("incoming/x") == b"b"
    store.put("incoming/empty", b"")
    assert store.get("incoming/empty") == b""
    assert leftovers(store.root) == []


def test_failed_write_keeps_old_content(store: LocalDiskStorage, monkeypatch) -> None:
    store.put("incoming/x", b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        store.put("incoming/x", b"new" * 1000)
    monkeypatch.undo()
    assert store.get("incoming/x") == b"old"
    assert leftovers(store.root) == []


def test_missing_parent_or_directory_keys_are_absent(store: LocalDiskStorage) -> None:
    store.put("images/file", b"x")
    with pytest.raises(KeyError):
        store.get("images/file/child")  # parent is a file
    assert not store.exists("images/file/child")
    store.delete("images/file/child")
    with pytest.raises(KeyError):
        store.get("images")  # a directory is not an object
    assert not store.exists("images")


@pytest.mark.parametrize(
    "key",
    [
        "", "/etc/passwd", "../secrets.json", "images/../../x", "a/./b", ".", "..", ".hidden",
        "images/.tmp-x", "a//b", "a/", "/a", "a b", "a\\b", "a\x00b", "照片.jpg", "a:b", "~/x",
        "x" * 129,
    ],
)
def test_bad_keys_are_rejected(store: LocalDiskStorage, key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key),
                 lambda: store.delete(key), lambda: store.exists(key)):
        with pytest.raises(ValueError):
            call()
    assert not store.root.exists() or list(store.root.rglob("*")) == []


def test_key_helpers() -> None:
    upload = uuid.uuid4()
    assert incoming_key(upload) == f"incoming/{upload}"
    assert incoming_key(str(upload)) == f"incoming/{upload}"
    assert image_key(SHA, "jpg") == f"images/{SHA}.jpg"
    assert thumbnail_key(SHA) == f"thumbs/{SHA}.jpg"
    for key in (incoming_key(upload), image_key(SHA, "png"), thumbnail_key(SHA)):
        assert validate_key(key) == key and len(key) <= 128
    with pytest.raises(ValueError):
        incoming_key("../x")
    with pytest.raises(ValueError):
        image_key("AB" * 32, "jpg")
    with pytest.raises(ValueError):
        thumbnail_key("ab")
    with pytest.raises(ValueError):
        image_key(SHA, "jpg/../../x")
