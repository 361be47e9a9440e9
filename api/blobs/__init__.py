"""Content-addressed blob store: bundles and large results, keyed by the sha256 of their bytes.

`blob_store_from_url` picks the backend: a local directory (`file:///var/lib/skiff/blobs`, a plain
path, or the relative `file://.state/blobs`) or S3 (`s3://bucket/prefix`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from api.blobs.base import (
    BlobDigestMismatch,
    BlobNotFound,
    BlobStore,
    BlobStream,
    InvalidDigest,
    check_digest,
)
from api.blobs.local import LocalBlobStore


def blob_store_from_url(url: str, *, s3_endpoint_url: str | None = None) -> BlobStore:
    """The store a URL names. `s3_endpoint_url` (SKIFF_S3_ENDPOINT_URL) points S3 at MinIO and
    the like; without it boto3 reads AWS_ENDPOINT_URL and its usual configuration."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"blob URL {url!r} names no bucket; use s3://bucket/prefix")
        from api.blobs.s3 import S3BlobStore  # boto3 takes ~90 ms to import: only when S3 is used

        return S3BlobStore(parts.netloc, parts.path.strip("/"), endpoint_url=s3_endpoint_url or None)
    if parts.scheme == "file":
        # file:///abs/path is absolute; file://.state/blobs (no host) is relative to the working dir.
        host = "" if parts.netloc in ("", "localhost") else parts.netloc
        return LocalBlobStore(host + parts.path)
    if parts.scheme == "":
        return LocalBlobStore(url)
    raise ValueError(f"blob URL {url!r} has unsupported scheme {parts.scheme!r}; use file:// or s3://")


__all__ = [
    "BlobDigestMismatch",
    "BlobNotFound",
    "BlobStore",
    "BlobStream",
    "InvalidDigest",
    "LocalBlobStore",
    "blob_store_from_url",
    "check_digest",
]
