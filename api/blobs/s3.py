"""Blobs in S3 (or MinIO, Ceph, R2, ...) at `s3://bucket/prefix/<sha256>`, through boto3.

boto3 blocks, so every call runs in a worker thread; the store itself is async like the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, ConnectTimeoutError, ReadTimeoutError

from api.blobs.base import BlobDigestMismatch, BlobNotFound, BlobStream, check_digest, file_sha256
from api.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def s3_client(endpoint_url: str | None = None) -> S3Client:
    """A client for AWS or an S3-compatible server; credentials come from boto3's usual chain."""
    # boto3 also takes the endpoint from these; either way it is not AWS, so use path-style URLs:
    # S3-compatible servers (MinIO, Ceph, s3rver) rarely resolve bucket subdomains.
    custom = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(
        s3={"addressing_style": "path" if custom else "auto"},
        # Checksums only where S3 requires them: many compatible servers reject the newer trailers;
        # integrity is checked against the sha256 digest instead.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": 5},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


@contextlib.contextmanager
def _translated(digest: str) -> Iterator[None]:
    """boto3's errors, turned into the domain's once, here."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            raise BlobNotFound(f"blob {digest} not found") from None
        raise
    except (ConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise Unavailable(f"the blob store is unreachable: {type(exc).__name__}") from exc


class S3BlobStore:
    """A blob store in one bucket under one key prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or s3_client(endpoint_url)

    def key(self, digest: str) -> str:
        check_digest(digest)
        return f"{self.prefix}/{digest}" if self.prefix else digest

    async def put(self, digest: str, source: IO[bytes]) -> None:
        await asyncio.to_thread(self._put, self.key(digest), digest, source)

    async def open(self, digest: str) -> BlobStream:
        return await asyncio.to_thread(self._open, self.key(digest), digest)

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self._exists, self.key(digest), digest)

    async def delete(self, digest: str) -> None:
        key = self.key(digest)
        with _translated(digest):
            await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    def _put(self, key: str, digest: str, source: IO[bytes]) -> None:
        actual = file_sha256(source)  # before uploading: a wrong object is never visible, even briefly
        if actual != digest:
            raise BlobDigestMismatch(f"the bytes hash to {actual}, not to the digest {digest} they were stored under")
        if self._exists(key, digest):
            return
        with _translated(digest):
            self.client.upload_fileobj(source, self.bucket, key)  # multipart above 8 MiB

    def _open(self, key: str, digest: str) -> BlobStream:
        with _translated(digest):
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        return BlobStream(response["Body"], response["ContentLength"])

    def _exists(self, key: str, digest: str) -> bool:
        try:
            with _translated(digest):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except BlobNotFound:
            return False
        return True
