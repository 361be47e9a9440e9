"""Leader election through a Postgres lease: one leader at a time, fast takeover, fencing tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import create_sessionmaker
from api.nodes.models import Node
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.test_nodes import REGISTRATION
from tests.conftest import Tenant, clear_leader_lease


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def no_lease(engine: AsyncEngine) -> None:
    await clear_leader_lease(engine)


def scheduler(settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, holder: str) -> Scheduler:
    s = Scheduler(settings, create_sessionmaker(engine), redis, tick_seconds=0.05, lease_seconds=1.0)
    s.holder = holder
    return s


async def test_one_leader_at_a_time(settings: Settings, engine: AsyncEngine, redis: aioredis.Redis) -> None:
    a, b = (scheduler(settings, engine, redis, h) for h in ("a", "b"))
    for _ in range(10):
        await asyncio.gather(a.step(), b.step())
        assert [s.fencing_token is not None for s in (a, b)].count(True) == 1


async def test_standby_takes_over_when_the_lease_lapses(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis
) -> None:
    a, b = (scheduler(settings, engine, redis, h) for h in ("a", "b"))
    await a.step()
    await b.step()
    first_token = a.fencing_token
    assert first_token is not None and b.fencing_token is None
    await asyncio.sleep(1.2)  # a stops renewing: its lease (1 s) lapses
    await b.step()
    assert b.fencing_token == first_token + 1
    await a.step()
    assert a.fencing_token is None  # the old leader learns it lost


async def test_resigning_hands_over_at_once(settings: Settings, engine: AsyncEngine, redis: aioredis.Redis) -> None:
    a, b = (scheduler(settings, engine, redis, h) for h in ("a", "b"))
    await a.step()
    await a.resign()
    await b.step()
    assert b.fencing_token is not None


async def test_leader_marks_silent_nodes_down(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = (await client.post("/v1/tokens", json={"name": "n", "kind": "node"}, headers=tenant.headers)).json()
    registered = await client.post(
        "/v1/agent/nodes", json=REGISTRATION, headers={"Authorization": f"Bearer {token['token']}"}
    )
    node_id = registered.json()["node"]["id"]
    leader = scheduler(settings, engine, redis, "leader")

    async def state() -> str:
        async with create_sessionmaker(engine)() as session:
            node = await session.get(Node, node_id)
            assert node is not None
            return node.state

    await leader.step()
    assert await state() == "ready"
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Node).where(Node.id == node_id).values(last_heartbeat_at=Node.last_heartbeat_at - timedelta(hours=1))
        )
    await leader.step()
    assert await state() == "down"
