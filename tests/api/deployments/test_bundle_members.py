"""B3 and B4: members that could escape the bundle root or are not plain files or directories."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from api.deployments.bundle import extract_bundle, inspect_bundle
from api.deployments.errors import InvalidBundle
from api.deployments.members import BundleLimits, member_path
from tests.api.deployments.factories import (
    MANIFEST,
    Entry,
    RawZipMember,
    bundle,
    entries,
    good_files,
    raw_zip,
    stored,
    tar_bundle,
    zip_bundle,
)

FORMATS = ["tar.gz", "tar", "zip"]


def rejected(data: bytes) -> str:
    with pytest.raises(InvalidBundle) as caught:
        inspect_bundle(io.BytesIO(data))
    assert caught.value.status == 422
    assert [issue.field for issue in caught.value.errors] == ["bundle"]
    return caught.value.detail


def with_extra(fmt: str, *extra: Entry) -> bytes:
    return bundle(fmt, [*entries(good_files()), *extra])


ESCAPES = [
    ("../evil.py", "'..' components are not allowed"),
    ("utils/../../evil.py", "'..' components are not allowed"),
    ("..", "'..' components are not allowed"),
    ("/etc/cron.d/evil", "absolute paths are not allowed"),
    ("/skiff.toml", "absolute paths are not allowed"),
    ("C:/Windows/evil.dll", "absolute paths are not allowed"),
    ("utils\\..\\..\\evil.py", "backslash"),
    ("a//b.py", "empty path component"),
    ("bad\nname.py", "control character"),
    ("x" * 256 + ".py", "longer than 255 bytes (limit: max_component_bytes)"),
    ("/".join(["d" * 200] * 6), "longer than 1024 bytes (limit: max_path_bytes)"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("name", "reason"), ESCAPES)
def test_paths_that_escape_or_confuse_are_refused(fmt: str, name: str, reason: str) -> None:
    detail = rejected(with_extra(fmt, Entry(name, b"x = 1\n")))
    assert reason in detail and repr(name[:200])[1:30] in detail, detail


@pytest.mark.parametrize(
    "data",
    [
        raw_zip([stored(b"skiff.toml", MANIFEST), stored(b"images.py\x00../../evil", b"x")]),
        tar_bundle([*entries(good_files()), Entry("innocent.py", b"x", pax={"path": "images.py\x00/../x"})]),
    ],
    ids=["zip", "tar-pax"],
)
def test_nul_in_a_name_is_refused_even_where_the_library_would_cut_it(data: bytes) -> None:
    assert "NUL byte" in rejected(data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_members_are_refused(fmt: str) -> None:
    assert "'images.py': appears more than once" in rejected(with_extra(fmt, Entry("images.py", b"evil = 1\n")))
    assert "appears more than once" in rejected(with_extra(fmt, Entry("./images.py", b"evil = 1\n")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_cannot_also_be_a_directory(fmt: str) -> None:
    assert "its parent 'images.py' is a file" in rejected(with_extra(fmt, Entry("images.py/x.py", b"")))
    files = [Entry("skiff.toml", MANIFEST), Entry("pkg/mod.py", b""), Entry("pkg", b"")]
    assert "'pkg': appears more than once" in rejected(bundle(fmt, files))


TAR_TYPES = [
    (Entry("link.py", kind="symlink", target="/etc/passwd"), "is a symbolic link to '/etc/passwd'"),
    (Entry("inside.py", kind="symlink", target="images.py"), "is a symbolic link to 'images.py'"),
    (Entry("hard.py", kind="hardlink", target="images.py"), "is a hard link to 'images.py'"),
    (Entry("tty", kind="chardev"), "is a device node"),
    (Entry("disk", kind="blockdev"), "is a device node"),
    (Entry("pipe", kind="fifo"), "is a FIFO"),
    (Entry("suid.py", b"x", mode=0o4755), "the setuid bit is set"),
    (Entry("sgid.py", b"x", mode=0o2755), "the setgid bit is set"),
    (Entry("tmp", kind="dir", mode=0o1777), "the sticky bit is set"),
    (Entry("shared", kind="dir", mode=0o2775), "the setgid bit is set"),
]


@pytest.mark.parametrize("fmt", ["tar.gz", "tar"])
@pytest.mark.parametrize(("entry", "reason"), TAR_TYPES, ids=[e.name for e, _ in TAR_TYPES])
def test_tar_members_that_are_not_plain_files_or_directories(fmt: str, entry: Entry, reason: str) -> None:
    detail = rejected(with_extra(fmt, entry))
    assert f"member {entry.name!r}" in detail and reason in detail, detail


ZIP_TYPES = [
    (Entry("link.py", kind="symlink", target="/etc/passwd"), "is a symbolic link"),
    (Entry("tty", kind="chardev"), "is a device, FIFO or socket"),
    (Entry("pipe", kind="fifo"), "is a device, FIFO or socket"),
    (Entry("suid.py", b"x", mode=0o4755), "the setuid bit is set"),
    (Entry("sgid.py", b"x", mode=0o2755), "the setgid bit is set"),
    (Entry("tmp", kind="dir", mode=0o1777), "the sticky bit is set"),
]


@pytest.mark.parametrize(("entry", "reason"), ZIP_TYPES, ids=[e.name for e, _ in ZIP_TYPES])
def test_zip_members_that_are_not_plain_files_or_directories(entry: Entry, reason: str) -> None:
    detail = rejected(with_extra("zip", entry))
    assert f"member {entry.name!r}" in detail and reason in detail, detail


def test_zip_encryption_and_exotic_compression_are_refused() -> None:
    encrypted = RawZipMember(b"secret.py", b"x", 0, 1, flags=0x1)
    assert "is encrypted" in rejected(raw_zip([stored(b"skiff.toml", MANIFEST), encrypted]))
    bzip2 = zip_bundle(entries(good_files()), compression=zipfile.ZIP_BZIP2)
    assert "uses compression method 12; only stored and deflate are allowed" in rejected(bzip2)


def test_an_oversized_pax_header_is_refused_before_it_is_read_into_memory() -> None:
    huge = Entry("images2.py", b"x", pax={"comment": "x" * (2 << 20)})
    assert "a tar extended header is" in rejected(with_extra("tar.gz", huge))


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_permissions_and_executables_are_fine(fmt: str) -> None:
    info = inspect_bundle(io.BytesIO(with_extra(fmt, Entry("run.sh", b"#!/bin/sh\n", mode=0o755))))
    executable = {m.path: m.executable for m in info.members}
    assert executable["run.sh"] is True and executable["images.py"] is False


@pytest.mark.parametrize("fmt", FORMATS)
def test_extraction_refuses_the_same_members_and_leaves_nothing(fmt: str, tmp_path: Path) -> None:
    root = tmp_path / "bundles"
    root.mkdir()
    data = with_extra(fmt, Entry("../escaped.py", b"x"))
    with pytest.raises(InvalidBundle):
        extract_bundle(io.BytesIO(data), root / "bundle")
    assert sorted(p.name for p in root.iterdir()) == []
    assert not (root.parent / "escaped.py").exists()


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("images.py", "images.py"),
        ("./images.py", "images.py"),
        ("pkg/./mod.py", "pkg/mod.py"),
        ("pkg/", "pkg"),
        ("./", ""),
        (".", ""),
        ("dir.with.dots/..hidden", "dir.with.dots/..hidden"),
        ("ünïcode/名前.py", "ünïcode/名前.py"),
    ],
)
def test_member_path_normalisation(raw: str, normal: str) -> None:
    assert member_path(raw, BundleLimits()) == normal
