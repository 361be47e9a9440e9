"""The scheduler process: hold the leader lease, and while leading, act on each tick.

A tick happens every `tick_seconds` or sooner when something pushes to the wake-up list.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import models  # noqa: F401 - every table, so foreign keys resolve
from api.calls.dispatch import SCHEDULER_WAKE, Dispatcher, blocking_client
from api.calls.service import CallService
from api.calls.store import CallStore
from api.db import create_engine, create_sessionmaker
from api.idempotency.service import purge_expired
from api.leases.service import LeaseService
from api.nodes.service import NodeService
from api.settings import Settings
from scheduler.builds import request_builds
from scheduler.clock import Reading, jump
from scheduler.reconcile import (
    expire_leases,
    forget_lost_nodes,
    mark_redis_known,
    publish_pending,
    redis_forgot,
    republish_stranded,
    shift_deadlines,
)
from scheduler.scaling import scale
from scheduler.schedules import fire_due

LEASE_NAME = "scheduler"
log = logging.getLogger("skiff.scheduler")


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: aioredis.Redis,
        *,
        tick_seconds: float = 1.0,
        lease_seconds: float = 10.0,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.dispatcher = Dispatcher(redis)
        # Schedules submit with idempotency keys, through the ORM; the store serves only the quota's count.
        self.store = CallStore(settings.database_url, size=2, timeout=settings.db_timeout_seconds)
        self.calls = CallService(
            sessionmaker, self.store, self.dispatcher, settings.max_input_bytes, settings.lost_attempt_retries
        )
        self.tick_seconds = tick_seconds
        self.lease_ttl = timedelta(seconds=lease_seconds)
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.fencing_token: int | None = None
        self.last_reading: Reading | None = None

    async def step(self) -> None:
        """Renew (or try to take) the lease, then act if leading."""
        async with self.sessionmaker() as session, session.begin():
            reading = await self._read_clocks(session)
            token = await LeaseService(session).acquire(LEASE_NAME, self.holder, self.lease_ttl)
        stepped, self.last_reading = jump(self.last_reading, reading), reading
        if token != self.fencing_token:
            log.info("leadership changed", extra={"leader": token is not None, "fencing_token": token})
        self.fencing_token = token
        if token is None:
            return
        async with self.sessionmaker() as session, session.begin():
            if stepped:
                await shift_deadlines(session, stepped)
            down = await NodeService(session).mark_silent_down(self.settings.node_heartbeat_timeout_seconds)
            if down:
                log.warning("nodes missed their heartbeats", extra={"nodes": down})
            await forget_lost_nodes(session)
            ended = await expire_leases(session)
            await purge_expired(session)
        await self.dispatcher.notify_done(ended)
        await fire_due(self.sessionmaker, self.calls)
        async with self.sessionmaker() as session, session.begin():
            forgot = await redis_forgot(self.dispatcher)
            published = await publish_pending(session, self.dispatcher, everything=forgot)
            if forgot and published:
                log.warning(
                    "Redis was new, flushed or restarted: queued calls published again", extra={"calls": published}
                )
            if forgot:
                await mark_redis_known(self.dispatcher)
            else:
                await republish_stranded(session, self.dispatcher)
        await self.dispatcher.take_woken()  # the full passes below cover what it holds
        await self._scale(None)
        await self._request_builds()

    async def _read_clocks(self, session: AsyncSession) -> Reading:
        before = time.monotonic()
        database = await session.scalar(select(func.clock_timestamp()))
        after = time.monotonic()
        assert database is not None
        return Reading((before + after) / 2, database, (after - before) / 2)

    async def scale_woken(self) -> None:
        """Between full ticks: scale just the functions that got new calls (the cold-start path), and plan
        the builds of versions deployed since the last look."""
        if self.fencing_token is None:
            return
        woken = await self.dispatcher.take_woken()
        if woken.functions:
            await self._scale(woken.functions)
        if woken.deployed:
            await self._request_builds()

    async def _scale(self, only: set[str] | None) -> None:
        async with self.sessionmaker() as session, session.begin():
            scaled = await scale(session, only)
        if scaled.wake:  # after the commit: a node that looks at once must find its start commands
            await self.dispatcher.wake(*sorted(scaled.wake))
        if scaled.waiting or scaled.placed:
            await self.dispatcher.note_waiting(scaled.waiting, scaled.placed)

    async def _request_builds(self) -> None:
        async with self.sessionmaker() as session, session.begin():
            woken = await request_builds(session)
        if woken:  # after the commit: a node that looks at once must find its requests
            await self.dispatcher.wake(*sorted(woken))

    async def run(self, stop: asyncio.Event) -> None:
        next_tick = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.tick_seconds
                    await self.step()
                else:
                    await self.scale_woken()
            except (OSError, TimeoutError, DBAPIError, RedisError) as exc:
                log.warning("tick failed; retrying", extra={"error": repr(exc)})
            except Exception:
                # A bug in one tick must not stop scheduling for everyone; it is logged loudly.
                log.exception("tick failed")
            await self._wait(stop, max(next_tick - time.monotonic(), 0.001))
        try:
            await self.resign()
        finally:
            await self.store.close()

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        waiter = asyncio.ensure_future(stop.wait())
        # Redis takes fractional BLPOP timeouts; redis-py types them as int.
        waker = asyncio.ensure_future(self.redis.blpop([SCHEDULER_WAKE], timeout=seconds))  # type: ignore[arg-type]
        _, pending = await asyncio.wait({waiter, waker}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if waker.done() and not waker.cancelled() and waker.exception() is not None:
            await asyncio.sleep(self.tick_seconds)  # Redis is down: fall back to plain ticking

    async def resign(self) -> None:
        if self.fencing_token is None:
            return
        async with self.sessionmaker() as session, session.begin():
            await LeaseService(session).release(LEASE_NAME, self.holder)
        self.fencing_token = None


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings)
    redis = blocking_client(settings.redis_url)
    try:
        await Scheduler(
            settings, create_sessionmaker(engine), redis, lease_seconds=settings.scheduler_lease_seconds
        ).run(stop)
    finally:
        await redis.aclose()
        await engine.dispose()
