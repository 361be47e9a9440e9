"""Redis is a fast path, not the truth: after a flush, or a push lost on the way, the reconciler
publishes every queued call again from Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.calls.dispatch import queue_key
from api.calls.models import Call
from api.db import create_sessionmaker
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.test_apps import deploy
from tests.bundles import hello_bundle
from tests.conftest import Tenant, clear_leader_lease


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def queued_calls(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, count: int
) -> tuple[str, set[str]]:
    await deploy(client, tenant, "greeter", hello_bundle())
    ids = set()
    for _ in range(count):
        response = await client.post("/v1/apps/greeter/functions/hello/calls", json={}, headers=tenant.headers)
        ids.add(response.json()["id"])
    async with create_sessionmaker(engine)() as session:
        function_id = await session.scalar(select(Call.function_id).where(Call.id.in_(ids)).limit(1))
    assert function_id is not None
    return function_id, ids


async def queue(redis: aioredis.Redis, function_id: str) -> set[str]:
    return {item.decode() for item in await redis.lrange(queue_key(function_id), 0, -1)}


async def test_a_redis_flush_loses_no_queued_call(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, settings: Settings, redis: aioredis.Redis
) -> None:
    await clear_leader_lease(engine)
    function_id, ids = await queued_calls(client, tenant, engine, 3)
    assert await queue(redis, function_id) == ids
    await redis.flushall()
    await Scheduler(settings, create_sessionmaker(engine), redis).step()
    assert await queue(redis, function_id) == ids


async def test_calls_stranded_outside_redis_are_published_again(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, settings: Settings, redis: aioredis.Redis
) -> None:
    await clear_leader_lease(engine)
    scheduler = Scheduler(settings, create_sessionmaker(engine), redis)
    await scheduler.step()  # Redis is known from here on: only the stranded sweep can help
    function_id, ids = await queued_calls(client, tenant, engine, 2)
    await redis.delete(queue_key(function_id))  # the pushes were lost
    await scheduler.step()
    assert await queue(redis, function_id) == set()  # too recent to call stranded
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Call).where(Call.id.in_(ids)).values(published_at=Call.published_at - timedelta(minutes=5))
        )
    await scheduler.step()
    assert await queue(redis, function_id) == ids
