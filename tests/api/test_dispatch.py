"""The Redis fast path against a real Redis: a call that a waiting slot takes at once does not wake
the scheduler, one left queued does; completion notices reach waiters, even one who starts
watching just after the notice went by."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from api.calls.dispatch import (
    SCHEDULER_WAKE,
    WOKEN_FUNCTIONS,
    CompletionWaiter,
    Dispatcher,
    queue_key,
)
from api.calls.models import Call
from api.settings import Settings


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    await client.delete(SCHEDULER_WAKE, WOKEN_FUNCTIONS)
    yield client
    await client.delete(SCHEDULER_WAKE, WOKEN_FUNCTIONS)
    await client.aclose()


async def test_a_call_left_queued_wakes_the_scheduler(redis: aioredis.Redis) -> None:
    function_id = f"fn_{uuid.uuid4().hex}"
    await Dispatcher(redis).publish(function_id, ["call_a"])
    assert await redis.lrange(queue_key(function_id), 0, -1) == [b"call_a"]
    assert await redis.smembers(WOKEN_FUNCTIONS) == {function_id.encode()}
    assert await redis.llen(SCHEDULER_WAKE) == 1


async def test_a_call_a_waiting_slot_takes_at_once_does_not(redis: aioredis.Redis, settings: Settings) -> None:
    function_id = f"fn_{uuid.uuid4().hex}"
    name = f"slot-{uuid.uuid4().hex[:8]}"
    blocking = aioredis.Redis.from_url(settings.redis_url, socket_timeout=None, client_name=name)
    try:
        dispatcher = Dispatcher(redis, blocking)
        slot = asyncio.create_task(dispatcher.block_pop([queue_key(function_id)], 5))
        while not any(c.get("name") == name and c.get("cmd") == "blpop" for c in await redis.client_list()):
            await asyncio.sleep(0.01)  # this slot is parked (other tests' clients may be parked too)
        await dispatcher.publish(function_id, ["call_b"])
        assert await slot == (queue_key(function_id), b"call_b")
        assert await redis.smembers(WOKEN_FUNCTIONS) == set()
        assert await redis.llen(SCHEDULER_WAKE) == 0
    finally:
        await blocking.aclose()


def ended(call_id: str) -> Call:
    return Call(id=call_id, status="succeeded")


async def test_notices_reach_waiters_with_the_call_when_it_ended_here(settings: Settings) -> None:
    waiter = CompletionWaiter(aioredis.Redis.from_url(settings.redis_url))
    with waiter.watching("call_here") as done:
        waiter.settle(ended("call_here"))
        result = await asyncio.wait_for(done, 1)
    assert result is not None and result.id == "call_here"
    assert waiter.waiting == {}


async def test_a_notice_is_remembered_for_a_late_watcher_and_then_forgotten(settings: Settings) -> None:
    redis = aioredis.Redis.from_url(settings.redis_url)
    waiter = CompletionWaiter(redis, remember_seconds=0.2)
    waiter.start()
    try:
        await asyncio.sleep(0.1)  # subscribed
        await Dispatcher(redis).notify_done(["call_early"])
        for _ in range(100):
            if "call_early" in waiter.recent:
                break
            await asyncio.sleep(0.01)
        with waiter.watching("call_early") as done:
            assert done.done() and done.result() is None  # heard through Redis: the waiter reads the call
        await asyncio.sleep(0.25)
        waiter.settle(ended("call_later"))  # noting another prunes what is older than 0.2 s
        assert "call_early" not in waiter.recent
        with waiter.watching("call_early") as done:
            assert not done.done()
    finally:
        await waiter.stop()
        await redis.aclose()


@pytest.mark.parametrize("count", [1, 3])
async def test_notices_sent_beside_the_caller_reach_other_processes(settings: Settings, count: int) -> None:
    """`notify_done_soon` returns at once; its notices (one, or several in one pipeline) still arrive."""
    redis = aioredis.Redis.from_url(settings.redis_url)
    elsewhere = CompletionWaiter(redis)  # another API process's waiter
    elsewhere.start()
    ids = [f"call_{uuid.uuid4().hex}" for _ in range(count)]
    try:
        await asyncio.sleep(0.1)  # subscribed
        with elsewhere.watching_any(ids[-1:]) as done:
            Dispatcher(redis).notify_done_soon(ids)
            assert await asyncio.wait_for(done, 2) is None  # heard through Redis
        for _ in range(100):
            if all(call_id in elsewhere.recent for call_id in ids):
                break
            await asyncio.sleep(0.01)
        assert all(call_id in elsewhere.recent for call_id in ids)
    finally:
        await elsewhere.stop()
        await redis.aclose()
