"""The blob store on both backends: a local directory and a real S3 server (s3rver)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from api.blobs import (
    BlobDigestMismatch,
    BlobNotFound,
    BlobStore,
    InvalidDigest,
    LocalBlobStore,
    blob_store_from_url,
)
from api.blobs.s3 import S3BlobStore, s3_client
from tests.api.conftest import S3Server


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """boto3's usual configuration, pointed at the test server (as an operator would set it)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.region)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return s3_server


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    name = f"blobs-{os.urandom(4).hex()}"
    s3_client(s3_env.endpoint_url).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    else:
        server: S3Server = request.getfixturevalue("s3_env")
        yield S3BlobStore(request.getfixturevalue("bucket"), "skiff/blobs", endpoint_url=server.endpoint_url)


@pytest.mark.parametrize("size", [0, 1, 1 << 20, 9 << 20])  # 9 MiB crosses boto3's multipart threshold
async def test_round_trip(store: BlobStore, size: int) -> None:
    data = os.urandom(size)
    digest = digest_of(data)
    assert not await store.exists(digest)
    await store.put(digest, io.BytesIO(data))
    assert await store.exists(digest)
    async with await store.open(digest) as blob:
        assert blob.size == size
        assert await blob.read_all() == data


async def test_reading_in_chunks(store: BlobStore) -> None:
    data = os.urandom((2 << 20) + 5)
    await store.put(digest_of(data), io.BytesIO(data))
    blob = await store.open(digest_of(data))
    try:
        chunks = [chunk async for chunk in blob]
    finally:
        await blob.aclose()
    assert b"".join(chunks) == data and len(chunks) >= 3


async def test_put_is_idempotent_and_reads_the_source_from_its_start(store: BlobStore) -> None:
    data = b"bundle bytes"
    source = io.BytesIO(data)
    source.seek(5)
    await store.put(digest_of(data), source)
    await store.put(digest_of(data), io.BytesIO(data))
    async with await store.open(digest_of(data)) as blob:
        assert await blob.read_all() == data


async def test_bytes_that_do_not_match_the_digest_are_not_stored(store: BlobStore) -> None:
    claimed = digest_of(b"what the client said")
    with pytest.raises(BlobDigestMismatch, match=claimed):
        await store.put(claimed, io.BytesIO(b"what it sent"))
    assert not await store.exists(claimed)


async def test_delete_and_missing_blobs(store: BlobStore) -> None:
    data = b"short-lived"
    await store.put(digest_of(data), io.BytesIO(data))
    await store.delete(digest_of(data))
    assert not await store.exists(digest_of(data))
    await store.delete(digest_of(data))  # deleting twice is fine
    with pytest.raises(BlobNotFound) as caught:
        await store.open(digest_of(data))
    assert caught.value.status == 404


@pytest.mark.parametrize(
    "digest",
    ["../../etc/passwd", "A" * 64, "a" * 63, "a" * 65, "", "g" * 64, "a" * 62 + "/x", "sha256:" + "a" * 64],
)
async def test_hostile_digests_never_reach_a_path_or_key(store: BlobStore, digest: str) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.exists(digest),
        lambda: store.open(digest),
        lambda: store.delete(digest),
        lambda: store.put(digest, io.BytesIO()),
    ]
    for call in calls:
        with pytest.raises(InvalidDigest):
            await call()


async def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = b"x" * 1000
    await store.put(digest_of(data), io.BytesIO(data))
    with pytest.raises(BlobDigestMismatch):
        await store.put(digest_of(b"other"), io.BytesIO(data))
    assert list((tmp_path / "incoming").iterdir()) == []
    assert store.path(digest_of(data)).read_bytes() == data
    assert store.path(digest_of(data)).relative_to(tmp_path).parts[:2] == ("sha256", digest_of(data)[:2])


async def test_s3_keys_live_under_the_prefix(bucket: str, s3_env: S3Server) -> None:
    data = b"prefixed"
    store = S3BlobStore(bucket, "/team/blobs/", endpoint_url=s3_env.endpoint_url)
    await store.put(digest_of(data), io.BytesIO(data))
    listed = s3_client(s3_env.endpoint_url).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed.get("Contents", [])] == [f"team/blobs/{digest_of(data)}"]


@pytest.mark.parametrize("form", ["file:///{path}", "file://localhost/{path}", "{path}"])
async def test_local_urls(form: str, tmp_path: Path) -> None:
    store = blob_store_from_url(form.format(path=str(tmp_path).lstrip("/") if "file" in form else tmp_path))
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path


async def test_a_relative_file_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = blob_store_from_url("file://.state/blobs")
    data = b"relative"
    await store.put(digest_of(data), io.BytesIO(data))
    assert (tmp_path / ".state" / "blobs" / "sha256" / digest_of(data)[:2] / digest_of(data)).read_bytes() == data


async def test_s3_url_with_the_endpoint_from_settings_or_the_environment(
    bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"through the url"
    from_settings = blob_store_from_url(f"s3://{bucket}/v1", s3_endpoint_url=s3_env.endpoint_url)
    await from_settings.put(digest_of(data), io.BytesIO(data))
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_env.endpoint_url)
    from_environment = blob_store_from_url(f"s3://{bucket}/v1")
    assert isinstance(from_environment, S3BlobStore) and from_environment.prefix == "v1"
    async with await from_environment.open(digest_of(data)) as blob:
        assert await blob.read_all() == data


@pytest.mark.parametrize("url", ["s3:///no-bucket", "gs://bucket/x", "http://example.com/blobs"])
def test_unusable_urls(url: str) -> None:
    with pytest.raises(ValueError, match="blob URL"):
        blob_store_from_url(url)
