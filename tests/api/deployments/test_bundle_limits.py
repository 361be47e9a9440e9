"""B5: decompression bombs and member floods are refused quickly, while the archive is read.

The rejection times are printed (and recorded as test properties), not asserted: they depend on
the machine. Run `pytest tests/api/deployments/test_bundle_limits.py -k quickly -s` to see them.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Callable

import pytest

from api.deployments.bundle import BundleLimits, inspect_bundle, spool_upload
from api.deployments.errors import BundleTooLarge, InvalidBundle
from api.errors import PayloadTooLarge
from tests.api.deployments import factories
from tests.api.deployments.factories import Entry, MiB, bundle, entries, good_files

RecordProperty = Callable[[str, object], None]


def too_large(data: bytes, limits: BundleLimits | None = None) -> BundleTooLarge:
    with pytest.raises(BundleTooLarge) as caught:
        inspect_bundle(io.BytesIO(data), limits)
    assert isinstance(caught.value, PayloadTooLarge) and caught.value.status == 413
    return caught.value


BIG = [
    ("tar.gz bomb: 40 x 255 MiB of zeros (10.7 GB)", factories.tar_gz_bomb, "max_expansion_ratio"),
    ("zip bomb: 40 x 255 MiB of zeros (10.7 GB)", factories.zip_bomb, "max_uncompressed_bytes"),
    ("tar.gz with 10^5 empty files", factories.tar_gz_many_files, "max_members"),
    ("zip with 10^5 empty files", factories.zip_many_files, "max_members"),
]


@pytest.mark.parametrize(("label", "build", "limit"), BIG, ids=[b[0].split(":")[0] for b in BIG])
def test_bombs_and_floods_are_rejected_quickly(
    label: str,
    build: Callable[[], bytes],
    limit: str,
    record_property: RecordProperty,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = build()
    started = time.perf_counter()
    error = too_large(data)
    elapsed = time.perf_counter() - started
    assert error.limit == limit and f"(limit: {limit})" in error.detail
    record_property("rejected_in_seconds", round(elapsed, 3))
    with capsys.disabled():
        print(f"\n  {label}: {len(data) / MiB:.1f} MiB upload rejected in {elapsed:.3f} s: {error.detail}")


def test_a_single_10_gib_member_is_refused_at_its_header() -> None:
    data = factories.gzip_segments(factories.zero_file_tar_segments([("zeros.bin", 10 << 30)]))
    error = too_large(data)
    assert error.limit == "max_file_bytes" and "'zeros.bin' is 10737418240 bytes" in error.detail


def test_the_expansion_ratio_spares_small_bundles_and_catches_big_ones() -> None:
    # 32 MiB of zeros compress ~1000x: over 100x, but under the 64 MiB floor, so accepted.
    small = factories.gzip_segments(factories.zero_file_tar_segments([("data/zeros.bin", 32 * MiB)]))
    assert len(small) < 64 * 1024
    with pytest.raises(InvalidBundle, match="handler module 'images' not found"):
        inspect_bundle(io.BytesIO(small))  # it got past every size check to the handler check
    big = factories.gzip_segments(factories.zero_file_tar_segments([("data/zeros.bin", 200 * MiB)]))
    assert too_large(big).limit == "max_expansion_ratio"


def fmt_bundle(fmt: str, *extra: Entry) -> bytes:
    return bundle(fmt, [*entries(good_files()), *extra])


LIMIT_CASES = [
    (BundleLimits(max_members=3), [], "max_members", "more than 3 members"),
    (BundleLimits(max_file_bytes=1000), [Entry("data.bin", b"x" * 1001)], "max_file_bytes", "1001 bytes"),
    (
        BundleLimits(max_uncompressed_bytes=3000),
        [Entry("a.bin", b"a" * 1500), Entry("b.bin", b"b" * 1500)],
        "max_uncompressed_bytes",
        "more than 3000 bytes",
    ),
    (BundleLimits(max_compressed_bytes=100), [], "max_compressed_bytes", "larger than 100 bytes"),
    (
        BundleLimits(max_expansion_ratio=2, expansion_floor_bytes=1000),
        [Entry("zeros.bin", bytes(200_000))],
        "max_expansion_ratio",
        "expands more than 2x",
    ),
]


# An uncompressed tar cannot expand, so it has no expansion ratio case.
LIMIT_MATRIX = [
    pytest.param(fmt, *case, id=f"{case[2]}-{fmt}")
    for case in LIMIT_CASES
    for fmt in ("tar.gz", "tar", "zip")
    if not (fmt == "tar" and case[2] == "max_expansion_ratio")
]


@pytest.mark.parametrize(("fmt", "limits", "extra", "limit", "fragment"), LIMIT_MATRIX)
def test_every_limit_is_named_when_crossed(
    fmt: str, limits: BundleLimits, extra: list[Entry], limit: str, fragment: str
) -> None:
    error = too_large(fmt_bundle(fmt, *extra), limits)
    assert (error.limit, fragment in error.detail) == (limit, True), error.detail
    inspect_bundle(io.BytesIO(fmt_bundle(fmt)), BundleLimits())  # the same bundle passes by default


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_limits_at_exactly_the_cap_pass(fmt: str) -> None:
    data = fmt_bundle(fmt, Entry("data.bin", b"x" * 1000))
    members = len(good_files()) + 1
    inspect_bundle(io.BytesIO(data), BundleLimits(max_file_bytes=1000, max_members=members))


def test_a_zip_that_understates_a_member_never_yields_more_than_declared() -> None:
    honest = factories.deflated_zeros(b"zeros.bin", 4 * MiB)
    lying = factories.RawZipMember(b"zeros.bin", honest.data, honest.crc, 1024, method=8)
    data = factories.raw_zip([factories.stored(b"skiff.toml", factories.MANIFEST), lying])
    with pytest.raises(InvalidBundle, match="not a valid zip archive"):
        inspect_bundle(io.BytesIO(data))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "the bundle is empty"),
        (b"BZh91AY&SY" + bytes(300), "is a bzip2 archive"),
        (b"\xfd7zXZ\x00" + bytes(300), "is a xz archive"),
        (b"\x28\xb5\x2f\xfd" + bytes(300), "is a zstd archive"),
        (b"#!/bin/sh\nrm -rf /\n" + bytes(300), "not a zip, tar or tar.gz archive"),
        (b"\x1f\x8b\x08\x00" + b"garbage" * 50, "not a valid tar.gz archive"),
        (factories.gzip_segments([b"this is not a tar archive" * 40]), "not a valid tar.gz archive"),
        (factories.tar_gz_bomb(2, MiB)[:1500], "not a valid tar.gz archive"),
        (b"PK\x03\x04" + bytes(400), "not a valid zip archive"),
    ],
    ids=["empty", "bzip2", "xz", "zstd", "script", "bad-gzip", "gzip-not-tar", "truncated-gzip", "bad-zip"],
)
def test_corrupt_and_foreign_uploads_are_422(data: bytes, fragment: str) -> None:
    with pytest.raises(InvalidBundle) as caught:
        inspect_bundle(io.BytesIO(data))
    assert fragment in caught.value.detail, caught.value.detail


async def endless_zeros(counter: list[int]) -> AsyncIterator[bytes]:
    yield factories.tar_bundle(entries(good_files()))[:300]  # a real gzip header first
    while True:
        counter[0] += 1
        yield bytes(64 * 1024)


async def test_spooling_stops_at_the_upload_cap_without_reading_the_rest() -> None:
    counter = [0]
    with pytest.raises(BundleTooLarge) as caught:
        await spool_upload(endless_zeros(counter), BundleLimits(max_compressed_bytes=1 * MiB))
    assert caught.value.limit == "max_compressed_bytes"
    assert counter[0] == 16  # the chunk that crossed 1 MiB was the last one read


async def test_spooling_refuses_a_non_archive_from_its_first_bytes() -> None:
    counter = [0]

    async def html() -> AsyncIterator[bytes]:
        yield b"<html>" + b" " * 1000
        while True:
            counter[0] += 1
            yield b" " * 1000

    with pytest.raises(InvalidBundle, match=r"not a zip, tar or tar\.gz"):
        await spool_upload(html())
    assert counter[0] == 0


async def test_spooling_keeps_every_byte() -> None:
    data = fmt_bundle("zip")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    spool = await spool_upload(chunks())
    try:
        assert spool.read() == data
        spool.seek(0)
        assert inspect_bundle(spool).compressed_bytes == len(data)
    finally:
        spool.close()
