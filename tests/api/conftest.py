"""Fixtures of the API tests: a real S3-speaking server (s3rver) for the blob store.

s3rver is pinned in tests/s3/package.json; install it once with `npm ci --prefix tests/s3`.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

S3RVER = Path(__file__).resolve().parents[1] / "s3" / "node_modules" / ".bin" / "s3rver"
_LISTENING = re.compile(rb"listening on ([\d.]+):(\d+)")


@dataclass(frozen=True)
class S3Server:
    """A running s3rver: its endpoint and the fixed credentials it accepts."""

    endpoint_url: str
    access_key: str = "S3RVER"
    secret_key: str = "S3RVER"  # s3rver's documented built-in credentials
    region: str = "us-east-1"


def _wait_for_port(process: subprocess.Popen[bytes], deadline: float) -> int:
    """s3rver prints `S3rver listening on 127.0.0.1:PORT` once it serves, even with --silent."""
    assert process.stdout is not None
    output = b""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            output += os.read(process.stdout.fileno(), 4096)
            if found := _LISTENING.search(output):
                return int(found.group(2))
    raise RuntimeError(f"s3rver did not start: {output.decode(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    if not S3RVER.exists():
        pytest.fail(f"s3rver is not installed at {S3RVER}; run: npm ci --prefix tests/s3", pytrace=False)
    data = Path(tempfile.mkdtemp(prefix="skiff-s3rver-"))
    process = subprocess.Popen(
        [str(S3RVER), "--directory", str(data), "--address", "127.0.0.1", "--port", "0", "--silent"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        port = _wait_for_port(process, time.monotonic() + 30)
        yield S3Server(endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
        shutil.rmtree(data, ignore_errors=True)
