"""Blobs in a local directory: `<root>/sha256/ab/abcd…`, written atomically and durably."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from api.blobs.base import CHUNK, BlobDigestMismatch, BlobNotFound, BlobStream, check_digest


class LocalBlobStore:
    """A blob store on a filesystem that every reader shares (one machine, or a shared mount)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        return self.root / "sha256" / digest[:2] / check_digest(digest)

    async def put(self, digest: str, source: IO[bytes]) -> None:
        await asyncio.to_thread(self._put, check_digest(digest), source)

    async def open(self, digest: str) -> BlobStream:
        return await asyncio.to_thread(self._open, self.path(digest))

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self.path(digest).is_file)

    async def delete(self, digest: str) -> None:
        await asyncio.to_thread(self.path(digest).unlink, missing_ok=True)

    def _put(self, digest: str, source: IO[bytes]) -> None:
        final = self.path(digest)
        if final.is_file():
            return  # content-addressed: the same digest is the same bytes
        incoming = self.root / "incoming"  # on the same filesystem, so the rename below is atomic
        incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=incoming, prefix=digest[:16] + ".")
        temporary = Path(name)
        try:
            actual = _write_durably(fd, source)
            if actual != digest:
                raise BlobDigestMismatch(
                    f"the bytes hash to {actual}, not to the digest {digest} they were stored under"
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            temporary.replace(final)
            _fsync_directory(final.parent)
        finally:
            temporary.unlink(missing_ok=True)

    @staticmethod
    def _open(path: Path) -> BlobStream:
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"blob {path.name} not found") from None
        return BlobStream(file, os.fstat(file.fileno()).st_size)


def _write_durably(fd: int, source: IO[bytes]) -> str:
    """Copy `source` from its start into `fd`, fsync it, and return the sha256 hex of what was written."""
    digest = hashlib.sha256()
    source.seek(0)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable: it lives in the directory's entries."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
