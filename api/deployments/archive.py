"""Reading bundle archives (zip, tar, tar.gz) member by member without trusting them.

`walk_archive` yields each member after checking that it is a plain file or directory at a safe
relative path, and counts the bytes that really come out of the decompressor, so a bomb, a flood
of members or an oversized file is refused as soon as it crosses a limit, not after the fact.
"""

from __future__ import annotations

import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from enum import StrEnum
from typing import IO, Self

from api.deployments.errors import BundleTooLarge, InvalidBundle
from api.deployments.members import (
    CHUNK,
    ArchiveMember,
    BundleLimits,
    MemberBudget,
    MemberKind,
    check_mode,
    counted_content,
    member_path,
    ratio_exceeded,
)

MAX_EXTENDED_HEADER_BYTES = 1 << 20  # pax and GNU long-name headers are read whole into memory
INPUT_CHUNK = 64 << 10
TAR_OVERHEAD_PER_MEMBER = 4096  # header, padding and a modest pax record per member
ONLY_PLAIN = "only regular files and directories are allowed"
HEAD_BYTES = 262  # enough to see the "ustar" magic at offset 257

_ZIP_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR_SIZE = 20
_ZIP_CD_HEADER = struct.Struct("<4s24xHHH12x")  # signature; name, extra and comment lengths
_EXTENDED_HEADER_TYPES = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)
_UNSUPPORTED_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"7z\xbc\xaf\x27\x1c": "7z",
    b"Rar!": "rar",
}
CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, RecursionError)


class ArchiveFormat(StrEnum):
    ZIP = "zip"
    TAR = "tar"
    TAR_GZ = "tar.gz"


def detect_format(head: bytes) -> ArchiveFormat:
    """The archive format from its first bytes; file names and content types are not trusted."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ArchiveFormat.ZIP
    if head.startswith(b"\x1f\x8b"):
        return ArchiveFormat.TAR_GZ
    if head[257:262] == b"ustar":
        return ArchiveFormat.TAR
    if not head:
        raise InvalidBundle.single("the bundle is empty; upload a zip, tar or tar.gz archive")
    for magic, name in _UNSUPPORTED_MAGIC.items():
        if head.startswith(magic):
            raise InvalidBundle.single(f"the bundle is a {name} archive; upload a zip, tar or tar.gz archive")
    raise InvalidBundle.single(f"the bundle is not a zip, tar or tar.gz archive (it starts with {head[:8]!r})")


def walk_archive(
    file: IO[bytes], fmt: ArchiveFormat, limits: BundleLimits
) -> Iterator[tuple[ArchiveMember, Iterator[bytes]]]:
    """Each checked member with an iterator over its content (read it or not: it is counted anyway).

    `file` must be seekable and positioned anywhere; the walk starts at offset 0.
    """
    file.seek(0)
    try:
        if fmt is ArchiveFormat.ZIP:
            yield from _walk_zip(file, limits)
        else:
            yield from _walk_tar(file, fmt, limits)
    except CORRUPT as exc:
        raise corrupt(fmt, exc) from None


def corrupt(fmt: ArchiveFormat, exc: BaseException) -> InvalidBundle:
    return InvalidBundle.single(f"the bundle is not a valid {fmt} archive: {exc}")


def _drained(member: ArchiveMember, content: Iterator[bytes]) -> Iterator[tuple[ArchiveMember, Iterator[bytes]]]:
    yield member, content
    for _ in content:  # whatever the caller left unread still counts against the limits
        pass


# --- tar and tar.gz --------------------------------------------------------------------------


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses oversized pax and GNU long-name headers before tarfile reads them into memory."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _EXTENDED_HEADER_TYPES and info.size > MAX_EXTENDED_HEADER_BYTES:
            raise InvalidBundle.single(
                f"a tar extended header is {info.size} bytes; at most {MAX_EXTENDED_HEADER_BYTES} are allowed"
            )
        return info


class _MeteredReader:
    """Counts the compressed bytes read so far: the denominator of the expansion ratio."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size >= 0 else CHUNK)
        self.count += len(data)
        return data


class _GzipInflater:
    """A gzip decoder that inflates at most one chunk ahead of its reader, and stops at the limits."""

    def __init__(self, raw: _MeteredReader, limits: BundleLimits) -> None:
        self.raw = raw
        self.limits = limits
        self.produced = 0
        self.cap = limits.max_uncompressed_bytes + TAR_OVERHEAD_PER_MEMBER * (limits.max_members + 1)
        self._decoder = zlib.decompressobj(wbits=31)
        self._input = b""
        self._output = b""
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        wanted = size if size >= 0 else CHUNK
        while len(self._output) - self._position < wanted and self._inflate_more():
            pass
        data = self._output[self._position : self._position + wanted]
        self._position += len(data)
        return data

    def _inflate_more(self) -> bool:
        """Inflate up to one more chunk into the output buffer; False at the end of the upload."""
        if self._decoder.eof:
            self._input = self._decoder.unused_data + self._input
            if not self._fill():
                return False
            self._decoder = zlib.decompressobj(wbits=31)  # a further gzip member follows
        if not self._fill():
            raise InvalidBundle.single("the bundle is not a valid tar.gz archive: the gzip stream is truncated")
        data = self._decoder.decompress(self._input, CHUNK)  # bounded: a bomb never lands in memory whole
        self._input = self._decoder.unconsumed_tail
        self._account(len(data))
        self._output = self._output[self._position :] + data
        self._position = 0
        return True

    def _fill(self) -> bool:
        """Make sure some compressed input is pending; False at the end of the upload."""
        if not self._input:
            # Small reads keep unconsumed_tail copies cheap and the ratio's denominator honest.
            self._input = self.raw.read(INPUT_CHUNK)
        return bool(self._input)

    def _account(self, amount: int) -> None:
        self.produced += amount
        if self.produced > self.cap:
            raise BundleTooLarge(
                f"the tar stream inside the bundle is larger than {self.cap} bytes",
                limit="max_uncompressed_bytes",
            )
        if self.produced > self.limits.expansion_allowance(self.raw.count):
            raise ratio_exceeded(self.limits, self.produced, self.raw.count)


def _walk_tar(
    file: IO[bytes], fmt: ArchiveFormat, limits: BundleLimits
) -> Iterator[tuple[ArchiveMember, Iterator[bytes]]]:
    raw = _MeteredReader(file)
    stream = _GzipInflater(raw, limits) if fmt is ArchiveFormat.TAR_GZ else raw
    budget = MemberBudget(limits, lambda: raw.count)
    with tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo, bufsize=INPUT_CHUNK) as archive:  # type: ignore[call-overload]
        for info in archive:
            member = _tar_member(info, limits)
            budget.admit(member)
            if member.kind is MemberKind.DIRECTORY:
                yield member, iter(())
                continue
            content = archive.extractfile(info)
            if content is None:
                raise InvalidBundle.member(member.path, "its content cannot be read")
            yield from _drained(member, counted_content(content, member, budget))


def _tar_member(info: tarfile.TarInfo, limits: BundleLimits) -> ArchiveMember:
    path = member_path(info.name, limits)
    shown = path or info.name
    if info.issym():
        raise InvalidBundle.member(shown, f"is a symbolic link to {info.linkname!r}; {ONLY_PLAIN}")
    if info.islnk():
        raise InvalidBundle.member(shown, f"is a hard link to {info.linkname!r}; {ONLY_PLAIN}")
    if info.ischr() or info.isblk():
        raise InvalidBundle.member(shown, f"is a device node; {ONLY_PLAIN}")
    if info.isfifo():
        raise InvalidBundle.member(shown, f"is a FIFO; {ONLY_PLAIN}")
    if info.issparse() or not (info.isreg() or info.isdir()):
        raise InvalidBundle.member(shown, f"has unsupported tar type {info.type!r}; {ONLY_PLAIN}")
    check_mode(shown, info.mode)
    if info.isdir():
        return ArchiveMember(path, MemberKind.DIRECTORY)
    return ArchiveMember(path, MemberKind.FILE, size=info.size, executable=bool(info.mode & 0o111))


# --- zip -------------------------------------------------------------------------------------


def _walk_zip(file: IO[bytes], limits: BundleLimits) -> Iterator[tuple[ArchiveMember, Iterator[bytes]]]:
    size = file.seek(0, 2)
    _count_zip_entries(file, size, limits)  # before zipfile parses a directory of any size
    file.seek(0)
    budget = MemberBudget(limits, lambda: size)
    with zipfile.ZipFile(file) as archive:
        infos = archive.infolist()
        members = [_zip_member(info, limits) for info in infos]
        for member in members:
            budget.admit(member)  # declared sizes are checked for every member before any is inflated
        if budget.declared > limits.expansion_allowance(size):
            raise ratio_exceeded(limits, budget.declared, size)
        for info, member in zip(infos, members, strict=True):
            if member.kind is MemberKind.DIRECTORY:
                yield member, iter(())
                continue
            with archive.open(info) as content:
                yield from _drained(member, counted_content(content, member, budget))


def _count_zip_entries(file: IO[bytes], size: int, limits: BundleLimits) -> int:
    """Walk the central directory's record headers, stopping once there are too many."""
    tail_size = min(size, _ZIP_EOCD.size + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _ZIP_EOCD.size > len(tail):
        raise InvalidBundle.single("the bundle is not a valid zip archive: no end of central directory record")
    directory_end = size - tail_size + at
    directory_size = _ZIP_EOCD.unpack_from(tail, at)[5]
    locator_at = at - _ZIP64_LOCATOR_SIZE
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        record_at = locator_at - _ZIP64_EOCD.size
        if record_at < 0 or tail[record_at : record_at + 4] != b"PK\x06\x06":
            raise InvalidBundle.single("the bundle is not a valid zip archive: bad zip64 end of central directory")
        directory_size = _ZIP64_EOCD.unpack_from(tail, record_at)[8]
        directory_end = size - tail_size + record_at
    position, count = directory_end - directory_size, 0
    while 0 <= position < directory_end:
        file.seek(position)
        header = file.read(_ZIP_CD_HEADER.size)
        if len(header) < _ZIP_CD_HEADER.size or not header.startswith(b"PK\x01\x02"):
            raise InvalidBundle.single("the bundle is not a valid zip archive: bad central directory")
        _, name_length, extra_length, comment_length = _ZIP_CD_HEADER.unpack(header)
        position += _ZIP_CD_HEADER.size + name_length + extra_length + comment_length
        count += 1
        if count > limits.max_members:
            raise BundleTooLarge(f"the bundle has more than {limits.max_members} members", limit="max_members")
    return count


def _zip_member(info: zipfile.ZipInfo, limits: BundleLimits) -> ArchiveMember:
    path = member_path(info.orig_filename, limits)  # orig_filename keeps what zipfile cuts at a NUL
    shown = path or info.orig_filename
    if info.flag_bits & 0x1:
        raise InvalidBundle.member(shown, "is encrypted; upload an unencrypted archive")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InvalidBundle.member(
            shown, f"uses compression method {info.compress_type}; only stored and deflate are allowed"
        )
    mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: Unix; others carry no file type
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise InvalidBundle.member(shown, f"is a symbolic link; {ONLY_PLAIN}")
    if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        raise InvalidBundle.member(shown, f"is a device, FIFO or socket; {ONLY_PLAIN}")
    check_mode(shown, mode)
    if info.orig_filename.endswith("/") or kind == stat.S_IFDIR:
        if info.file_size:
            raise InvalidBundle.member(shown, "is a directory entry that carries data")
        return ArchiveMember(path, MemberKind.DIRECTORY)
    return ArchiveMember(path, MemberKind.FILE, size=info.file_size, executable=bool(mode & 0o111))


__all__ = [
    "HEAD_BYTES",
    "ArchiveFormat",
    "ArchiveMember",
    "BundleLimits",
    "MemberKind",
    "detect_format",
    "member_path",
    "walk_archive",
]
