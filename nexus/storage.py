"""Attachment storage: a small interface, with the local filesystem as the default backend.

An object store (S3 and the like) fits the same four methods; keys are opaque strings the
backend chooses, so a backend may shard or prefix them as it likes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from nexus.offload import off_loop

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class AttachmentStorage(Protocol):
    async def save(self, data: bytes, filename: str) -> str:
        """Store ``data`` durably and return its key."""

    async def load(self, key: str) -> bytes:
        """The bytes stored under ``key``. Raises FileNotFoundError."""

    async def delete(self, key: str) -> None: ...

    async def check(self) -> None:
        """Raise if the storage cannot be written (for ``/readyz``)."""


def safe_filename(filename: str) -> str:
    name = _UNSAFE.sub("_", os.path.basename(filename or "")).strip("._") or "file"
    return name[-100:]


class LocalStorage:
    """Files under one directory, as ``YYYY/MM/<random>-<name>``, written atomically and
    fsynced before :meth:`save` returns."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise FileNotFoundError(key)
        return path

    async def save(self, data: bytes, filename: str) -> str:
        now = datetime.now(UTC)
        key = f"{now:%Y/%m}/{secrets.token_hex(8)}-{safe_filename(filename)}"
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    async def load(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def check(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            probe_path = self.root / f".probe-{os.getpid()}"
            probe_path.write_bytes(b"ok")
            probe_path.unlink()

        await asyncio.to_thread(probe)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def sha256_of(data: bytes) -> str:
    """:func:`sha256_hex`, in a worker thread when ``data`` is large (hashlib lets go of the GIL
    while it hashes), so that a big attachment does not hold the event loop."""
    return await off_loop(len(data), sha256_hex, data)
