"""What a bundle member may be, and how much of them: path rules, file types and size budgets.

Shared by every archive format: a member is a plain file or directory at a normalised relative
path, and each byte that comes out of a decompressor is counted against `BundleLimits`.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import IO

import msgspec

from api.deployments.errors import BundleTooLarge, InvalidBundle

CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BundleLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Caps on one bundle; every one is checked while reading, and its name is in the error."""

    max_compressed_bytes: int = 256 << 20  # the upload itself; keep in step with Settings.max_bundle_bytes
    max_uncompressed_bytes: int = 1 << 30
    max_file_bytes: int = 256 << 20
    max_members: int = 10_000
    max_expansion_ratio: float = 100.0
    expansion_floor_bytes: int = 64 << 20  # below this much output the ratio is not checked
    max_path_bytes: int = 1024
    max_component_bytes: int = 255

    def expansion_allowance(self, compressed: int) -> float:
        return max(float(self.expansion_floor_bytes), self.max_expansion_ratio * compressed)


class MemberKind(StrEnum):
    FILE = "file"
    DIRECTORY = "directory"


class ArchiveMember(msgspec.Struct, frozen=True):
    """A checked member: a normalised relative path ("" is the root itself)."""

    path: str
    kind: MemberKind
    size: int = 0
    executable: bool = False


def member_path(raw: str, limits: BundleLimits) -> str:
    """The normalised relative path of a member name; refuses anything that could escape the root."""
    problem = _path_problem(raw, limits)
    if problem:
        raise InvalidBundle.member(raw[:200], problem)
    parts = raw.split("/")
    if parts[-1] == "":
        parts.pop()  # a directory's trailing slash
    return "/".join(part for part in parts if part != ".")


def _path_problem(raw: str, limits: BundleLimits) -> str | None:
    if "\x00" in raw:
        return "the name contains a NUL byte"
    if _CONTROL.search(raw):
        return "the name contains a control character"
    if "\\" in raw:
        return "the name contains a backslash; use '/' between directories"
    if raw.startswith("/") or (raw[:1].isalpha() and raw[1:3] == ":/"):
        return "absolute paths are not allowed; members must be relative to the bundle root"
    return _length_problem(raw, limits)


def _length_problem(raw: str, limits: BundleLimits) -> str | None:
    try:
        encoded = raw.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid UTF-8"
    if len(encoded) > limits.max_path_bytes:
        return f"the path is longer than {limits.max_path_bytes} bytes (limit: max_path_bytes)"
    parts = raw.split("/")
    for index, part in enumerate(parts):
        if part == "..":
            return "'..' components are not allowed: the path would escape the bundle root"
        if part == "" and index != len(parts) - 1:
            return "empty path component ('//')"
        if len(part.encode("utf-8")) > limits.max_component_bytes:
            limit = limits.max_component_bytes
            return f"a path component is longer than {limit} bytes (limit: max_component_bytes)"
    return None


def check_mode(path: str, mode: int) -> None:
    for bit, name in ((stat.S_ISUID, "setuid"), (stat.S_ISGID, "setgid"), (stat.S_ISVTX, "sticky")):
        if mode & bit:
            raise InvalidBundle.member(path, f"the {name} bit is set; only plain permissions are allowed")


class MemberBudget:
    """Running totals of one walk against the limits: members, paths, real bytes out."""

    def __init__(self, limits: BundleLimits, compressed: Callable[[], int]) -> None:
        self.limits = limits
        self.compressed = compressed
        self.members = 0
        self.uncompressed = 0
        self.declared = 0
        self.kinds: dict[str, MemberKind] = {}
        self.parents: set[str] = set()

    def admit(self, member: ArchiveMember) -> None:
        """Count a member and refuse duplicates and file/directory clashes before reading it."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise BundleTooLarge(f"the bundle has more than {self.limits.max_members} members", limit="max_members")
        if member.kind is MemberKind.FILE:
            if not member.path:
                raise InvalidBundle.single("a file member has no name")
            self._expect_file(member)
        if not member.path:
            return  # the root directory itself ("./")
        previous = self.kinds.get(member.path)
        if previous is not None or (member.kind is MemberKind.FILE and member.path in self.parents):
            raise InvalidBundle.member(member.path, "appears more than once in the bundle")
        parts = member.path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if self.kinds.get(parent) is MemberKind.FILE:
                raise InvalidBundle.member(member.path, f"its parent {parent!r} is a file")
            self.parents.add(parent)
        self.kinds[member.path] = member.kind

    def _expect_file(self, member: ArchiveMember) -> None:
        if member.size > self.limits.max_file_bytes:
            raise BundleTooLarge(
                f"member {member.path!r} is {member.size} bytes, more than {self.limits.max_file_bytes}",
                limit="max_file_bytes",
            )
        self.declared += member.size
        if self.declared > self.limits.max_uncompressed_bytes:
            raise BundleTooLarge(
                f"the bundle declares more than {self.limits.max_uncompressed_bytes} bytes uncompressed",
                limit="max_uncompressed_bytes",
            )

    def consume(self, member: ArchiveMember, seen: int, amount: int) -> None:
        """Account for `amount` real bytes of `member` (`seen` of it so far)."""
        if seen > member.size:
            raise InvalidBundle.member(member.path, f"holds more data than the {member.size} bytes it declares")
        self.uncompressed += amount
        if self.uncompressed > self.limits.max_uncompressed_bytes:
            raise BundleTooLarge(
                f"the bundle expands to more than {self.limits.max_uncompressed_bytes} bytes",
                limit="max_uncompressed_bytes",
            )
        if self.uncompressed > self.limits.expansion_allowance(self.compressed()):
            raise ratio_exceeded(self.limits, self.uncompressed, self.compressed())


def ratio_exceeded(limits: BundleLimits, produced: int, compressed: int) -> BundleTooLarge:
    return BundleTooLarge(
        f"the bundle expands more than {limits.max_expansion_ratio:g}x "
        f"({produced} bytes out of {compressed} compressed bytes)",
        limit="max_expansion_ratio",
    )


def counted_content(stream: IO[bytes], member: ArchiveMember, budget: MemberBudget) -> Iterator[bytes]:
    """The member's content in chunks, each counted before it is handed on."""
    seen = 0
    while chunk := stream.read(CHUNK):
        seen += len(chunk)
        budget.consume(member, seen, len(chunk))
        yield chunk
    if seen != member.size:
        raise InvalidBundle.member(member.path, f"holds {seen} bytes but declares {member.size}")
