"""Deployed bundles on this node: downloaded once per digest, verified, unpacked read-only.

The API validated every bundle at deploy time; here the sha256 ties what we unpack to what was
validated, and the unpacking still refuses anything but plain files and directories inside the
target, so a compromised blob store cannot plant links or escape the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import httpx

MAX_BUNDLE_BYTES = 256 << 20
MANIFEST = "skiff.toml"


class BundleError(Exception):
    """A bundle could not be fetched or failed its checks on this node."""


class BundleCache:
    def __init__(self, root: Path, http: httpx.AsyncClient) -> None:
        self.root = root
        self.http = http
        self._locks: dict[str, asyncio.Lock] = {}
        root.mkdir(parents=True, exist_ok=True)

    async def get(self, digest: str) -> Path:
        """The unpacked bundle's root directory; concurrent requests for one digest fetch it once."""
        if not digest.isalnum() or len(digest) != 64:
            raise BundleError(f"not a sha256 digest: {digest[:80]!r}")
        target = self.root / digest
        if target.is_dir():
            return target
        async with self._locks.setdefault(digest, asyncio.Lock()):
            if not target.is_dir():
                data = await self._download(digest)
                await asyncio.to_thread(unpack, data, target)
        return target

    async def _download(self, digest: str) -> bytes:
        buffer = io.BytesIO()
        hasher = hashlib.sha256()
        async with self.http.stream("GET", f"/v1/agent/bundles/{digest}") as response:
            if response.status_code != 200:
                raise BundleError(f"bundle {digest} could not be fetched: HTTP {response.status_code}")
            async for chunk in response.aiter_bytes():
                if buffer.tell() + len(chunk) > MAX_BUNDLE_BYTES:
                    raise BundleError(f"bundle {digest} exceeds {MAX_BUNDLE_BYTES} bytes")
                hasher.update(chunk)
                buffer.write(chunk)
        if hasher.hexdigest() != digest:
            raise BundleError(f"bundle {digest} arrived with sha256 {hasher.hexdigest()}")
        return buffer.getvalue()


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name.removeprefix("./"))
    if path.is_absolute() or ".." in path.parts or "\\" in name or "\x00" in name:
        raise BundleError(f"unsafe member path {name[:200]!r}")
    return path


def unpack(data: bytes, target: Path) -> None:
    """Unpack into a staging directory, then rename into place: `target` is complete or absent."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if data[:4] == b"PK\x03\x04":
            _unpack_zip(data, staging)
        else:
            _unpack_tar(data, staging)
        root = _bundle_root(staging)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        root.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack_tar(data: bytes, staging: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            relative = _safe_relative(member.name)
            if str(relative) in ("", "."):
                continue
            destination = staging / relative
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
            elif member.isfile() and not member.mode & (stat.S_ISUID | stat.S_ISGID):
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:
                    raise BundleError(f"member {member.name!r} has no content")
                with source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
            else:
                raise BundleError(f"member {member.name!r} is not a plain file or directory")


def _unpack_zip(data: bytes, staging: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            relative = _safe_relative(info.filename)
            mode = info.external_attr >> 16
            if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise BundleError(f"member {info.filename!r} is not a plain file or directory")
            destination = staging / relative
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, destination.open("wb") as out:
                shutil.copyfileobj(source, out)


def _bundle_root(staging: Path) -> Path:
    """The manifest's directory: the archive root, or the one directory wrapping everything."""
    if (staging / MANIFEST).is_file():
        return staging
    entries = list(staging.iterdir())
    if len(entries) == 1 and (entries[0] / MANIFEST).is_file():
        return entries[0]
    raise BundleError(f"no {MANIFEST} at the bundle's root")
