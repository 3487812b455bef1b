"""Where attachment bytes live: one small interface, local disk for the single-machine run.

Intake keeps citizens' attachments in it and status the result documents officials attach.

Blobs are content-addressed (the key is their SHA-256), so writing the same file twice is one
blob, and a submission that rolls back after its files were written leaves only an
unreferenced blob behind, never a dossier row without its file.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from motcua.config import env, var_dir

_KEY = re.compile(r"[0-9a-f]{64}")


class AttachmentStore(Protocol):
    def put(self, content: bytes) -> str:
        """Store the bytes; returns their key."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes for a key from `put`; KeyError if there are none."""


def attachment_store(service: str) -> AttachmentStore:
    """A service's store: files under env `<SERVICE>_ATTACHMENTS_DIR`, default var/attachments."""
    return LocalDiskStore(env(f"{service.upper()}_ATTACHMENTS_DIR"))


class LocalDiskStore:
    """Files under `root/ab/abcdef...` (default var/attachments)."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root or var_dir() / "attachments")

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # a key is never a path: nothing outside root can be named
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, content: bytes) -> str:
        key = hashlib.sha256(content).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: a reader sees the whole file or none.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None
