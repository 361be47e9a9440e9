"""The blob store contract shared by every backend, and the stream a stored blob is read through."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from types import TracebackType
from typing import IO, Protocol, Self

from api.errors import BadRequest, NotFound, Unprocessable

CHUNK = 1 << 20
_DIGEST = re.compile(r"[0-9a-f]{64}")


class InvalidDigest(BadRequest):
    """A digest that is not 64 lower-case hex characters; it never reaches a path or key."""


class BlobNotFound(NotFound):
    """No blob has this digest (never stored, or deleted)."""


class BlobDigestMismatch(Unprocessable):
    """The bytes offered under a digest do not hash to it; nothing was stored."""


def check_digest(digest: str) -> str:
    """`digest` if it is a lower-case sha256 hex string; digests reach paths and object keys."""
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise InvalidDigest(f"{str(digest)[:80]!r} is not a sha256 digest (64 lower-case hex characters)")
    return digest


def file_sha256(source: IO[bytes]) -> str:
    """sha256 hex of a seekable file from its start; leaves it rewound. Blocking."""
    source.seek(0)
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class BlobStream:
    """An open blob: `size` bytes read in chunks off the event loop; close it (or `async with`)."""

    def __init__(self, raw: _Readable, size: int) -> None:
        self._raw = raw
        self.size = size

    async def read(self, size: int = CHUNK) -> bytes:
        """Up to `size` bytes; b"" at the end."""
        return await asyncio.to_thread(self._raw.read, size)

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read():
            yield chunk

    async def aclose(self) -> None:
        await asyncio.to_thread(self._raw.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class BlobStore(Protocol):
    """Immutable blobs by sha256. `put` checks the bytes against the digest; storing a blob that
    exists is a no-op; `delete` of a missing blob is not an error."""

    async def put(self, digest: str, source: IO[bytes]) -> None:
        """Store the bytes of `source` (read from its start; must be seekable) under `digest`."""
        ...

    async def open(self, digest: str) -> BlobStream:
        """The blob's bytes; raises BlobNotFound."""
        ...

    async def exists(self, digest: str) -> bool: ...

    async def delete(self, digest: str) -> None: ...
