"""Bundles built in memory for the deployment tests: plain ones, hostile ones and enormous ones.

The enormous ones (10 GB of zeros, 10^5 members) are written directly in their wire formats,
with deflate blocks repeated after full flushes and CRCs extended over zeros arithmetically, so
building one takes milliseconds and a few MB of memory instead of compressing 10 GB.
"""

from __future__ import annotations

import gzip
import io
import stat
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

MiB = 1 << 20
MANIFEST = b'[functions.thumbnail]\nhandler = "images:thumbnail"\nrequirements = ["pillow>=10"]\n'
HANDLER = b"def thumbnail(path):\n    return path\n"


def good_files() -> dict[str, bytes]:
    return {
        "skiff.toml": MANIFEST,
        "images.py": HANDLER,
        "utils/__init__.py": b"",
        "utils/text.py": b"def shout(s):\n    return s.upper()\n",
    }


@dataclass
class Entry:
    """One archive member as a test wants it, hostile or not."""

    name: str
    data: bytes = b""
    kind: str = "file"  # file, dir, symlink, hardlink, chardev, blockdev, fifo
    mode: int = 0o644
    target: str = ""  # what a link points to
    pax: dict[str, str] = field(default_factory=dict)


def entries(files: dict[str, bytes]) -> list[Entry]:
    return [Entry(name, data) for name, data in files.items()]


_TAR_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chardev": tarfile.CHRTYPE,
    "blockdev": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}
_ZIP_TYPES = {
    "file": stat.S_IFREG,
    "dir": stat.S_IFDIR,
    "symlink": stat.S_IFLNK,
    "chardev": stat.S_IFCHR,
    "blockdev": stat.S_IFBLK,
    "fifo": stat.S_IFIFO,
}


def tar_bundle(members: Iterable[Entry], *, compress: bool = True) -> bytes:
    """A tar (gzip-compressed unless told otherwise) with a fixed gzip mtime: same input, same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in members:
            info = tarfile.TarInfo(entry.name)
            info.type, info.mode, info.linkname, info.mtime = _TAR_TYPES[entry.kind], entry.mode, entry.target, 0
            info.pax_headers = dict(entry.pax)
            info.size = len(entry.data) if entry.kind == "file" else 0
            tar.addfile(info, io.BytesIO(entry.data) if entry.kind == "file" else None)
    return gzip.compress(raw.getvalue(), mtime=0) if compress else raw.getvalue()


def zip_bundle(members: Iterable[Entry], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names, which some tests want
        with zipfile.ZipFile(out, "w", compression) as archive:
            for entry in members:
                name = entry.name + ("/" if entry.kind == "dir" and not entry.name.endswith("/") else "")
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.create_system = 3  # Unix, so the mode bits below are read
                info.external_attr = (_ZIP_TYPES[entry.kind] | entry.mode) << 16
                info.compress_type = compression
                archive.writestr(info, entry.target.encode() if entry.kind == "symlink" else entry.data)
    return out.getvalue()


def bundle(fmt: str, members: Iterable[Entry]) -> bytes:
    """A bundle in one of the formats a test table names: "tar.gz", "tar" or "zip"."""
    if fmt == "zip":
        return zip_bundle(members)
    return tar_bundle(members, compress=fmt == "tar.gz")


# --- CRC-32 over runs of zeros, without touching gigabytes ---------------------------------------


def _gf2_apply(matrix: list[int], vector: int) -> int:
    result, column = 0, 0
    while vector:
        if vector & 1:
            result ^= matrix[column]
        vector >>= 1
        column += 1
    return result


@cache
def _zero_byte_operator() -> list[int]:
    """The linear map one zero byte applies to the CRC-32 register, as 32 columns."""
    mask = 0xFFFFFFFF
    return [zlib.crc32(b"\0", (1 << bit) ^ mask) ^ mask for bit in range(32)]


def crc32_zeros(crc: int, count: int) -> int:
    """zlib.crc32(bytes(count), crc), in O(log count)."""
    register, operator = crc ^ 0xFFFFFFFF, _zero_byte_operator()
    while count:
        if count & 1:
            register = _gf2_apply(operator, register)
        operator = [_gf2_apply(operator, column) for column in operator]
        count >>= 1
    return register ^ 0xFFFFFFFF


# --- deflate streams of mostly zeros --------------------------------------------------------------

Segment = bytes | int  # literal bytes, or a run of that many zero bytes


@cache
def _zero_block() -> bytes:
    """1 MiB of zeros, deflated and ended by a full flush: valid wherever a full flush left off."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)


def raw_deflate(segments: Iterable[Segment]) -> tuple[bytes, int, int]:
    """(raw deflate data, crc32, length) of the concatenated segments."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out: list[bytes] = []
    crc = length = 0
    for segment in segments:
        if isinstance(segment, int):
            blocks, rest = divmod(segment, MiB)
            out.append(_zero_block() * blocks)
            segment_bytes = bytes(rest)
            crc = crc32_zeros(crc, blocks * MiB)
            length += blocks * MiB
        else:
            segment_bytes = segment
        out.append(compressor.compress(segment_bytes) + compressor.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(segment_bytes, crc)
        length += len(segment_bytes)
    out.append(compressor.flush())
    return b"".join(out), crc, length


def gzip_segments(segments: Iterable[Segment]) -> bytes:
    data, crc, length = raw_deflate(segments)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + data + struct.pack("<LL", crc, length & 0xFFFFFFFF)


def tar_header(name: str, size: int = 0, typeflag: bytes = b"0", mode: int = 0o644) -> bytes:
    """One ustar header, written by hand."""
    header = bytearray(512)
    encoded = name.encode()
    header[0 : len(encoded)] = encoded
    header[100:108] = b"%07o\0" % mode
    header[108:124] = b"0000000\0" * 2
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"00000000000\0"
    header[148:156] = b" " * 8
    header[156:157] = typeflag
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def empty_file_headers(names: Iterable[str]) -> bytes:
    """ustar headers of empty files from one template: fast enough for 10^5 members."""
    template = tar_header("")
    base = sum(template) - sum(template[148:156]) + 8 * ord(" ")
    parts = []
    for name in names:
        encoded = name.encode()
        checksum = b"%06o\0 " % (base + sum(encoded))
        parts.append(encoded + template[len(encoded) : 148] + checksum + template[156:])
    return b"".join(parts)


def zero_file_tar_segments(names_and_sizes: Iterable[tuple[str, int]]) -> list[Segment]:
    """A tar stream of zero-filled files (and the end-of-archive blocks) as deflate segments."""
    segments: list[Segment] = [MANIFEST_HEADER, MANIFEST + bytes(-len(MANIFEST) % 512)]
    for name, size in names_and_sizes:
        segments += [_large_tar_header(name, size), size + (-size % 512)]
    segments.append(1024)
    return segments


def _large_tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)  # GNU base-256 sizes go past 8 GiB


MANIFEST_HEADER = tar_header("skiff.toml", len(MANIFEST))


@cache
def tar_gz_bomb(files: int = 40, size: int = 255 * MiB) -> bytes:
    """`files` members of `size` zeros each: 40 x 255 MiB is 10.7 GB uncompressed, ~10 MB on the wire."""
    return gzip_segments(zero_file_tar_segments((f"zeros/{i}.bin", size) for i in range(files)))


@cache
def tar_gz_many_files(count: int = 100_000) -> bytes:
    headers = empty_file_headers(f"f/{i}.txt" for i in range(count))
    body = MANIFEST_HEADER + MANIFEST + bytes(-len(MANIFEST) % 512) + headers + bytes(1024)
    return gzip.compress(body, compresslevel=1, mtime=0)


# --- zip, written by hand ------------------------------------------------------------------------


@dataclass
class RawZipMember:
    """A zip member exactly as written: nothing is checked or made consistent."""

    name: bytes
    data: bytes = b""  # as stored (already deflated when method is 8)
    crc: int = 0
    size: int = 0  # the declared uncompressed size
    method: int = 0
    flags: int = 0
    external_attr: int = (stat.S_IFREG | 0o644) << 16


def stored(name: bytes, data: bytes) -> RawZipMember:
    return RawZipMember(name, data, zlib.crc32(data), len(data))


def raw_zip(members: Iterable[RawZipMember]) -> bytes:
    """A zip with a zip64 end record when there are more than 65535 members."""
    out, directory, count = bytearray(), bytearray(), 0
    for m in members:
        offset = len(out)
        sizes = (m.crc, len(m.data), m.size, len(m.name))
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21, *sizes, 0) + m.name + m.data
        attributes = (0, 0, 0, 0, m.external_attr, offset)
        header = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 0x0314, 20, m.flags, m.method, 0, 0x21, *sizes, *attributes)
        directory += header + m.name
        count += 1
    directory_offset = len(out)
    out += directory
    if count > 0xFFFF:
        zip64_at = len(out)
        record = (44, 45, 45, 0, 0, count, count, len(directory), directory_offset)
        out += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", *record)
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1)
        count = 0xFFFF
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), directory_offset, 0)
    return bytes(out)


def deflated_zeros(name: bytes, size: int) -> RawZipMember:
    data, crc, length = raw_deflate([size])
    return RawZipMember(name, data, crc, length, method=8)


@cache
def zip_bomb(files: int = 40, size: int = 255 * MiB) -> bytes:
    zeros = deflated_zeros(b"", size)
    bombs = (RawZipMember(f"zeros/{i}.bin".encode(), zeros.data, zeros.crc, size, 8) for i in range(files))
    return raw_zip([stored(b"skiff.toml", MANIFEST), *bombs])


@cache
def zip_many_files(count: int = 100_000) -> bytes:
    return raw_zip([stored(b"skiff.toml", MANIFEST), *(stored(f"f/{i}.txt".encode(), b"") for i in range(count))])
