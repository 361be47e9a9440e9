"""Firing schedules from the scheduler leader, against real Postgres and Redis.

Time passes by moving a schedule back: its creation time (a period's anchor) and `next_fire_at`
are shifted into the past in the database, so its slots fall where the test wants them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.calls.models import Call
from api.calls.schemas import CallInput
from api.db import create_sessionmaker
from api.schedules.models import Schedule
from api.schedules.service import spec_of
from api.settings import Settings
from scheduler.cron import plan_fire
from scheduler.loop import Scheduler
from scheduler.schedules import fire_due, slot_key
from tests.api.test_apps import deploy
from tests.bundles import HELLO_SOURCE, hello_bundle, make_bundle
from tests.conftest import Tenant, clear_leader_lease

HOUR = 3600


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def no_lease(engine: AsyncEngine) -> None:
    await clear_leader_lease(engine)


def scheduler(settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, holder: str = "one") -> Scheduler:
    s = Scheduler(settings, create_sessionmaker(engine), redis)
    s.holder = holder
    return s


async def hourly_schedule(client: httpx.AsyncClient, tenant: Tenant, function: str = "hello") -> str:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code in (200, 201)
    body = {"app": "greeter", "function": function, "period_seconds": HOUR, "args": ["ada"], "kwargs": {}}
    created = await client.post("/v1/schedules", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    schedule_id: str = created.json()["id"]
    return schedule_id


async def rewind(engine: AsyncEngine, schedule_id: str, *, missed: int, late: timedelta) -> None:
    """Move the schedule back so that `missed` hourly slots have passed, the latest `late` ago."""
    created = func.date_trunc("second", func.now()) - literal(timedelta(seconds=missed * HOUR) + late)
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)
            .values(created_at=created, next_fire_at=created + literal(timedelta(seconds=HOUR)))
        )


async def load(engine: AsyncEngine, schedule_id: str) -> tuple[Schedule, datetime]:
    async with create_sessionmaker(engine)() as session:
        schedule = await session.get(Schedule, schedule_id)
        now = (await session.execute(select(func.now()))).scalar_one()
    assert schedule is not None
    return schedule, now


async def calls_of(engine: AsyncEngine, tenant: Tenant) -> list[Call]:
    async with create_sessionmaker(engine)() as session:
        return list((await session.scalars(select(Call).where(Call.workspace_id == tenant.workspace_id))).all())


async def test_a_due_schedule_fires_one_call_with_its_arguments(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant)
    await rewind(engine, schedule_id, missed=1, late=timedelta(seconds=5))
    leader = scheduler(settings, engine, redis)

    await leader.step()
    calls = await calls_of(engine, tenant)
    assert len(calls) == 1
    call = calls[0]
    assert (call.app_name, call.function_name, call.status) == ("greeter", "hello", "queued")
    assert call.input == b'{"args":["ada"],"kwargs":{}}'
    schedule, now = await load(engine, schedule_id)
    assert schedule.last_call_id == call.id
    assert schedule.last_fired_at is not None and now - schedule.last_fired_at < timedelta(seconds=10)
    assert schedule.next_fire_at > now

    await leader.step()
    assert len(await calls_of(engine, tenant)) == 1  # the slot is handled: stepping again fires nothing
    shown = (await client.get(f"/v1/schedules/{schedule_id}", headers=tenant.headers)).json()
    assert shown["last_call_id"] == call.id
    assert (await client.get(f"/v1/calls/{call.id}", headers=tenant.headers)).json()["status"] == "queued"


async def test_two_schedulers_stepping_at_once_fire_once(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant)
    await rewind(engine, schedule_id, missed=1, late=timedelta(seconds=5))
    a, b = scheduler(settings, engine, redis, "a"), scheduler(settings, engine, redis, "b")
    await asyncio.gather(a.step(), b.step(), a.step(), b.step())
    assert len(await calls_of(engine, tenant)) == 1


async def test_firing_without_the_lease_still_makes_one_call_per_slot(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Two firers past the leader lease (a leader that lost it mid-tick): row locks and the slot key hold."""
    schedule_id = await hourly_schedule(client, tenant)
    await rewind(engine, schedule_id, missed=1, late=timedelta(seconds=5))
    a, b = scheduler(settings, engine, redis, "a"), scheduler(settings, engine, redis, "b")
    await asyncio.gather(*(fire_due(s.sessionmaker, s.calls) for s in (a, b, a, b)))
    assert len(await calls_of(engine, tenant)) == 1


async def test_a_crash_after_the_call_was_made_does_not_make_a_second(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant)
    await rewind(engine, schedule_id, missed=1, late=timedelta(seconds=5))
    leader = scheduler(settings, engine, redis)
    schedule, now = await load(engine, schedule_id)
    slot = plan_fire(spec_of(schedule), schedule.next_fire_at, now).slot
    assert slot is not None
    # What a scheduler that died before committing the schedule's advance left behind: the call alone.
    made = await leader.calls.submit(
        tenant.workspace_id, "greeter", "hello", CallInput(args=["ada"]), idempotency_key=slot_key(schedule_id, slot)
    )

    await leader.step()
    assert [c.id for c in await calls_of(engine, tenant)] == [made.id]
    schedule, now = await load(engine, schedule_id)
    assert schedule.last_call_id == made.id and schedule.last_fired_at == slot and schedule.next_fire_at > now


async def test_missed_slots_fire_once_for_the_latest_within_grace(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant)
    await rewind(engine, schedule_id, missed=4, late=timedelta(seconds=20))
    before, _ = await load(engine, schedule_id)
    latest = before.next_fire_at + timedelta(seconds=3 * HOUR)

    await scheduler(settings, engine, redis).step()
    calls = await calls_of(engine, tenant)
    assert len(calls) == 1
    schedule, now = await load(engine, schedule_id)
    assert schedule.last_fired_at == latest
    assert schedule.last_call_id == calls[0].id
    assert now < schedule.next_fire_at <= now + timedelta(seconds=HOUR)


async def test_missed_slots_beyond_grace_fire_nothing(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant)
    await rewind(engine, schedule_id, missed=3, late=timedelta(minutes=30))

    await scheduler(settings, engine, redis).step()
    assert await calls_of(engine, tenant) == []
    schedule, now = await load(engine, schedule_id)
    assert schedule.last_call_id is None and schedule.last_fired_at is None
    assert now < schedule.next_fire_at <= now + timedelta(minutes=31)


async def test_a_paused_schedule_does_not_fire(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant)
    assert (await client.post(f"/v1/schedules/{schedule_id}/pause", headers=tenant.headers)).status_code == 200
    await rewind(engine, schedule_id, missed=1, late=timedelta(seconds=5))

    await scheduler(settings, engine, redis).step()
    assert await calls_of(engine, tenant) == []


async def test_a_slot_whose_function_is_gone_is_skipped(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schedule_id = await hourly_schedule(client, tenant, function="boom")
    only_hello = make_bundle({"app.py": HELLO_SOURCE}, "[functions.hello]\nhandler = 'app:hello'\n")
    assert (await deploy(client, tenant, "greeter", only_hello)).status_code == 201
    await rewind(engine, schedule_id, missed=1, late=timedelta(seconds=5))

    await scheduler(settings, engine, redis).step()
    assert await calls_of(engine, tenant) == []
    schedule, now = await load(engine, schedule_id)
    assert schedule.next_fire_at > now and schedule.last_call_id is None
