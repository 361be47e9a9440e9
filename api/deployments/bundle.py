"""Code bundles: check an upload before it is stored, and unpack a stored one on a node.

A bundle is a zip, tar or tar.gz (told apart by magic bytes) holding `skiff.toml` at its root, or
inside a single top-level directory that wraps everything (what `tar czf app.tgz app/` and GitHub
zips produce); that directory is then the bundle root. Both `inspect_bundle` and `extract_bundle`
walk the archive with every safety check and limit of `api.deployments.archive`; nothing is
written to disk during inspection. Both are blocking: call them through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, Callable, Iterator
from pathlib import Path
from typing import IO

import msgspec

from api.deployments.archive import CORRUPT, HEAD_BYTES, ArchiveFormat, corrupt, detect_format, walk_archive
from api.deployments.errors import BundleTooLarge, InvalidBundle
from api.deployments.handlers import check_handlers, needed_sources
from api.deployments.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES, Manifest, parse_manifest
from api.deployments.members import CHUNK, ArchiveMember, BundleLimits, MemberKind

SPOOL_MEMORY_BYTES = 8 << 20  # uploads up to this size stay in memory while received
RETAINED_SOURCE_BYTES = 8 << 20  # Python sources kept from the first walk; more costs a second walk

ReadMany = Callable[[set[str]], dict[str, bytes]]


class BundleInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a checked bundle holds; member paths are relative to the bundle root."""

    digest: str  # sha256 hex of the uploaded bytes: the bundle's blob key
    # sha256 over every file's path, mode and content: the same code re-archived has the same one.
    content_digest: str = ""
    format: ArchiveFormat
    compressed_bytes: int
    uncompressed_bytes: int
    root: str  # the wrapping top-level directory ("app/") stripped from every path, or ""
    members: tuple[ArchiveMember, ...]
    manifest: Manifest
    warnings: tuple[str, ...] = ()


async def spool_upload(chunks: AsyncIterable[bytes], limits: BundleLimits | None = None) -> IO[bytes]:
    """Receive an upload into a spooled temporary file, refusing it as soon as it is too large or
    evidently not an archive. The caller closes the returned file."""
    limits = limits or BundleLimits()
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
    size, head = 0, b""
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limits.max_compressed_bytes:
                raise _upload_too_large(limits)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
                if len(head) >= HEAD_BYTES:
                    detect_format(head)
            spool.write(chunk)
        detect_format(head)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def inspect_bundle(upload: IO[bytes], limits: BundleLimits | None = None) -> BundleInfo:
    """Check a seekable upload end to end without extracting it; raises BundleTooLarge
    (413) for size caps, InvalidBundle or InvalidManifest (422) for everything else."""
    limits = limits or BundleLimits()
    digest, size, fmt = _fingerprint(upload, limits)
    retainer = _Retainer()
    fingerprint = ContentFingerprint(fmt)
    members = [
        fingerprint.drain(member, retainer.offer(member, fingerprint.watch(content)))
        for member, content in walk_archive(upload, fmt, limits)
    ]
    kept = retainer.kept

    def read_many(paths: set[str]) -> dict[str, bytes]:
        missing = paths - kept.keys()
        if missing:  # sources beyond the retention budget: one more walk, picking only those
            for member, content in walk_archive(upload, fmt, limits):
                if member.path in missing:
                    kept[member.path] = b"".join(content)
        return {path: kept[path] for path in paths if path in kept}

    return msgspec.structs.replace(
        _conclude(digest, fmt, size, members, read_many), content_digest=fingerprint.hexdigest()
    )


class ContentFingerprint:
    """Hashes each file's content as the walk reads it, whether or not the checks read all of it."""

    def __init__(self, fmt: ArchiveFormat) -> None:
        self.fmt = fmt
        self.files: list[tuple[str, bool, str]] = []
        self._current = hashlib.sha256()
        self._pending: Iterator[bytes] = iter(())

    def watch(self, content: Iterator[bytes]) -> Iterator[bytes]:
        self._current = hashlib.sha256()
        self._pending = self._tee(content)
        return self._pending

    def _tee(self, content: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in content:
            self._current.update(chunk)
            yield chunk

    def drain(self, member: ArchiveMember, checked: ArchiveMember) -> ArchiveMember:
        try:
            for _ in self._pending:  # what the checks left unread still counts
                pass
        except CORRUPT as exc:  # read here, outside the walk, so translated here too
            raise corrupt(self.fmt, exc) from None
        if member.kind is MemberKind.FILE:
            self.files.append((member.path, member.executable, self._current.hexdigest()))
        return checked

    def hexdigest(self) -> str:
        listing = "".join(f"{path}\0{int(executable)}\0{digest}\n" for path, executable, digest in sorted(self.files))
        return hashlib.sha256(listing.encode()).hexdigest()


def extract_bundle(
    source: Path | IO[bytes],
    dest: Path,
    limits: BundleLimits | None = None,
    *,
    expected_digest: str | None = None,
) -> BundleInfo:
    """Unpack a bundle's root into `dest` (which must not exist), re-checking everything.

    Files land in a staging directory beside `dest` that is renamed into place only once the
    whole bundle passed, so `dest` either holds a complete, checked bundle or does not exist.
    """
    limits = limits or BundleLimits()
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    with _opened(source) as upload:
        digest, size, fmt = _fingerprint(upload, limits)
        if expected_digest is not None and digest != expected_digest:
            raise InvalidBundle.single(f"the bundle's sha256 is {digest}, expected {expected_digest}")
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            fingerprint = ContentFingerprint(fmt)
            members = [
                fingerprint.drain(member, _write_member(staging, member, fingerprint.watch(content)))
                for member, content in walk_archive(upload, fmt, limits)
            ]
            info = _conclude(digest, fmt, size, members, lambda paths: {p: (staging / p).read_bytes() for p in paths})
            info = msgspec.structs.replace(info, content_digest=fingerprint.hexdigest())
            (staging / info.root).rename(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return info


@contextlib.contextmanager
def _opened(source: Path | IO[bytes]) -> Iterator[IO[bytes]]:
    if isinstance(source, Path):
        with source.open("rb") as file:
            yield file
    else:
        yield source


def _upload_too_large(limits: BundleLimits) -> BundleTooLarge:
    return BundleTooLarge(
        f"the bundle is larger than {limits.max_compressed_bytes} bytes", limit="max_compressed_bytes"
    )


def _fingerprint(upload: IO[bytes], limits: BundleLimits) -> tuple[str, int, ArchiveFormat]:
    """(sha256 hex, size, format) of the whole upload, refusing it past the size cap."""
    if not upload.seekable():
        raise TypeError("a bundle must be read from a seekable file; receive it with spool_upload")
    upload.seek(0)
    digest, size, head = hashlib.sha256(), 0, b""
    while chunk := upload.read(CHUNK):
        size += len(chunk)
        if size > limits.max_compressed_bytes:
            raise _upload_too_large(limits)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
    return digest.hexdigest(), size, detect_format(head)


def _is_wrapped_manifest(path: str) -> bool:
    return path.count("/") == 1 and path.endswith("/" + MANIFEST_NAME)


class _Retainer:
    """Keeps what the checks after a walk read, within a budget, so one walk usually suffices."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}
        self.source_bytes = 0
        self.wrapped_manifests = 0

    def offer(self, member: ArchiveMember, content: Iterator[bytes]) -> ArchiveMember:
        if member.kind is not MemberKind.FILE:
            return member
        if member.path == MANIFEST_NAME:
            self.kept[member.path] = _read_at_most(content, MAX_MANIFEST_BYTES + 1)
        elif _is_wrapped_manifest(member.path):
            # One wrapped manifest is enough: two top-level directories mean there is no wrapper.
            self.wrapped_manifests += 1
            if self.wrapped_manifests == 1:
                self.kept[member.path] = _read_at_most(content, MAX_MANIFEST_BYTES + 1)
        elif member.path.endswith(".py") and self.source_bytes + member.size <= RETAINED_SOURCE_BYTES:
            self.source_bytes += member.size
            self.kept[member.path] = b"".join(content)
        return member


def _read_at_most(content: Iterator[bytes], limit: int) -> bytes:
    data = b""
    for chunk in content:
        data += chunk[: limit - len(data)]
        if len(data) >= limit:
            break
    return data


def _write_member(staging: Path, member: ArchiveMember, content: Iterator[bytes]) -> ArchiveMember:
    target = staging / member.path  # checked relative path with no '..': it stays inside staging
    if member.kind is MemberKind.DIRECTORY:
        target.mkdir(mode=0o755, parents=True, exist_ok=True)
        return member
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(target, flags, 0o755 if member.executable else 0o644), "wb") as out:
        for chunk in content:
            out.write(chunk)
    return member


def _bundle_root(members: list[ArchiveMember]) -> str:
    """ "" when skiff.toml is at the root, "dir/" when one top-level directory wraps it all."""
    files = {m.path for m in members if m.kind is MemberKind.FILE}
    if MANIFEST_NAME in files:
        return ""
    tops = sorted({m.path.split("/")[0] for m in members if m.path})
    if len(tops) == 1 and f"{tops[0]}/{MANIFEST_NAME}" in files:
        return tops[0] + "/"
    listed = ", ".join(tops[:20]) or "none"
    raise InvalidBundle.single(
        f"{MANIFEST_NAME} not found at the bundle root or inside a single top-level directory; "
        f"top-level entries: {listed}"
    )


def _conclude(
    digest: str, fmt: ArchiveFormat, size: int, members: list[ArchiveMember], read_many: ReadMany
) -> BundleInfo:
    """Find the root, parse the manifest and check the handlers of a fully walked bundle."""
    root = _bundle_root(members)
    rooted = [
        msgspec.structs.replace(m, path=m.path.removeprefix(root))
        for m in members
        if m.path.startswith(root) and m.path != root.rstrip("/") and m.path
    ]
    manifest = parse_manifest(read_many({root + MANIFEST_NAME})[root + MANIFEST_NAME])
    files = [m.path for m in rooted if m.kind is MemberKind.FILE]
    wanted = needed_sources(manifest, files)
    sources = {path.removeprefix(root): text for path, text in read_many({root + p for p in wanted}).items()}
    problems, warnings = check_handlers(manifest, files, sources)
    if problems:
        raise InvalidBundle(problems)
    return BundleInfo(
        digest=digest,
        format=fmt,
        compressed_bytes=size,
        uncompressed_bytes=sum(m.size for m in rooted),
        root=root,
        members=tuple(rooted),
        manifest=manifest,
        warnings=tuple(warnings),
    )


__all__ = [
    "ArchiveFormat",
    "ArchiveMember",
    "BundleInfo",
    "BundleLimits",
    "MemberKind",
    "extract_bundle",
    "inspect_bundle",
    "spool_upload",
]
