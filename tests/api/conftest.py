"""Fixtures of the API tests: a scripted agent and a scheduler stepped by hand for the call path,
and a real S3-speaking server (s3rver) for the blob store.

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
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import create_sessionmaker
from api.settings import Settings
from scheduler.loop import Scheduler
from scheduler.reconcile import mark_redis_known
from tests.api.test_nodes import REGISTRATION
from tests.conftest import Tenant, clear_leader_lease

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


@dataclass
class ScriptedAgent:
    """Speaks the agent protocol step by step, so each test decides what the node does."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    node_id: str
    epoch: int

    async def poll(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/agent/nodes/{self.node_id}/poll", json={"epoch": self.epoch, **body}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def next(self, container_id: str, **body: Any) -> dict[str, Any]:
        response = await self.client.post(f"/v1/agent/containers/{container_id}/next", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
async def agent(client: httpx.AsyncClient, tenant: Tenant) -> ScriptedAgent:
    token = (await client.post("/v1/tokens", json={"name": "n", "kind": "node"}, headers=tenant.headers)).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    config = (await client.post("/v1/agent/nodes", json=REGISTRATION, headers=headers)).json()
    return ScriptedAgent(client, headers, config["node"]["id"], config["node"]["epoch"])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """`time.monotonic()` as the test sets it. The event loop's clock stands still with it: no timeouts."""
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
async def scheduler(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Scheduler]:
    await clear_leader_lease(engine)
    redis = aioredis.Redis.from_url(settings.redis_url)
    scheduler = Scheduler(settings, create_sessionmaker(engine), redis)
    # As a scheduler that has run before: Redis is known to it. Else its first step takes this Redis
    # for new or flushed and publishes every queued call again, beside the copies already queued.
    await mark_redis_known(scheduler.dispatcher)
    yield scheduler
    await redis.aclose()
