"""The Redis fast path: function queues, wake-ups and completion notices.

Redis holds only ids and signals; Postgres holds the truth. Anything lost here is rebuilt from
Postgres by the reconciler (see `scheduler`), so every operation here may be repeated safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from api.calls.models import Call

log = logging.getLogger("skiff.dispatch")

SCHEDULER_WAKE = "skiff:scheduler:wake"
# Functions with new calls since the scheduler last looked: it scales only these on a wake-up.
WOKEN_FUNCTIONS = "skiff:scheduler:functions"
# Present once a deploy has made a version since the scheduler last looked: a wake-up plans its builds.
NEW_DEPLOYMENTS = "skiff:scheduler:deployments"
DONE_CHANNEL = "skiff:calls:done"
# How long, and for how many calls at most, a process remembers completion notices it has seen.
RECENT_SECONDS = 5.0
MAX_RECENT = 100_000
# How long a function's waiting reason outlives the last scheduler pass that found it (passes come each second).
WAITING_SECONDS = 5
# Present while Redis still holds what we pushed; its absence means a flush or a restart.
ALIVE_MARKER = "skiff:alive"


def queue_key(function_id: str) -> str:
    return f"skiff:queue:{function_id}"


def waiting_key(function_id: str) -> str:
    """Why the function's calls wait (no node takes its container, or it is at its max_containers), while
    the scheduler keeps finding so."""
    return f"skiff:function:{function_id}:waiting"


def node_wake_key(node_id: str) -> str:
    return f"skiff:node:{node_id}:wake"


def container_wake_key(container_id: str) -> str:
    return f"skiff:container:{container_id}:wake"


def blocking_client(url: str) -> aioredis.Redis:
    """For BLPOP and SUBSCRIBE: no read timeout (a timed-out BLPOP would still pop, into a reply
    nobody reads), and health checks to notice a dead connection instead."""
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, socket_timeout=None, socket_connect_timeout=2, health_check_interval=15
    )
    return client


# KEYS: the function's queue, WOKEN_FUNCTIONS, SCHEDULER_WAKE; ARGV: the function's id.
WAKE_IF_QUEUED = """
if redis.call('LLEN', KEYS[1]) > 0 then
    redis.call('SADD', KEYS[2], ARGV[1])
    redis.call('LPUSH', KEYS[3], '1')
    redis.call('LTRIM', KEYS[3], 0, 0)
end
"""


def _push_wake(pipe: Pipeline, key: str) -> None:
    """One wake-up on the list `key` (a waiter's BLPOP takes it); wake-ups do not pile up."""
    pipe.lpush(key, "1")
    pipe.ltrim(key, 0, 0)
    pipe.expire(key, 300)


@dataclass(frozen=True)
class Woken:
    """What a scheduler's wake-up is for: functions with new calls, and whether a deploy made a version."""

    functions: set[str]
    deployed: bool


class Dispatcher:
    def __init__(self, redis: aioredis.Redis, blocking: aioredis.Redis | None = None) -> None:
        self.redis = redis
        self.blocking = blocking or redis
        self._notifying: set[asyncio.Future[None]] = set()  # held until sent: the loop keeps weak references

    async def publish(self, function_id: str, call_ids: Iterable[str]) -> None:
        """Queue calls for their function's containers, and wake the scheduler unless slots that were
        waiting took them all (Redis hands a pushed id to a blocked BLPOP before the next command runs).
        One round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(queue_key(function_id), *call_ids)
            # EVAL, not EVALSHA: the body is small, and a pipeline's scripts would cost a SCRIPT EXISTS each time.
            pipe.eval(WAKE_IF_QUEUED, 3, queue_key(function_id), WOKEN_FUNCTIONS, SCHEDULER_WAKE, function_id)
            await pipe.execute()

    async def try_publish(self, function_id: str, call_ids: list[str]) -> bool:
        """Publish, or leave it to the reconciler when Redis is away: the calls are committed already."""
        try:
            await self.publish(function_id, call_ids)
        except (RedisError, OSError) as exc:
            log.warning("could not publish calls; the reconciler will", extra={"error": repr(exc)})
            return False
        return True

    async def deployed(self) -> None:
        """Wake the scheduler to plan a new version's builds now, not at its next tick; the tick plans
        them anyway when Redis is away."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(NEW_DEPLOYMENTS, "1", ex=300)
                _push_wake(pipe, SCHEDULER_WAKE)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not wake the scheduler for a deploy; its tick will plan it", extra={"error": repr(exc)})

    async def take_woken(self) -> Woken:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.smembers(WOKEN_FUNCTIONS)
            pipe.delete(WOKEN_FUNCTIONS)
            pipe.getdel(NEW_DEPLOYMENTS)
            members, _, deployed = await pipe.execute()
        return Woken({m.decode() for m in members}, deployed is not None)

    async def queue_length(self, function_id: str) -> int:
        length: int = await self.redis.llen(queue_key(function_id))  # type: ignore[misc]
        return length

    async def pop_many(self, key: str, count: int) -> list[bytes]:
        """Up to `count` ids from the head of a queue, at once (LPOP with a count)."""
        values: list[bytes] | None = await self.redis.lpop(key, count)  # type: ignore[misc]
        return values or []

    async def put_back(self, key: str, values: list[bytes]) -> None:
        """Values popped but not used, back at the head of the queue in their order."""
        await self.redis.lpush(key, *reversed(values))  # type: ignore[misc]

    async def block_pop_many(self, keys: list[str], seconds: float, count: int) -> tuple[str, list[bytes]] | None:
        """BLMPOP (Redis 7): up to `count` values from the first of `keys` that holds any, waiting
        up to `seconds` for one; in one round trip."""
        # redis-py types each key as a list of str, and the result loosely: hence the ignores.
        item = await self.blocking.blmpop(seconds, len(keys), *keys, direction="LEFT", count=count)  # type: ignore[misc,arg-type]
        if item is None:
            return None
        key, values = item
        return key.decode(), list(values)

    async def block_pop(self, keys: list[str], seconds: float) -> tuple[str, bytes] | None:
        """BLPOP; Redis takes fractional timeouts although redis-py types them as int."""
        item = await self.blocking.blpop(keys, timeout=seconds)  # type: ignore[arg-type,misc]
        if item is None:
            return None
        key, value = item
        return key.decode(), value

    async def wake(self, *keys: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                _push_wake(pipe, key)
            await pipe.execute()

    async def note_waiting(self, waiting: dict[str, str], placed: Iterable[str]) -> None:
        """Say why functions' calls wait, for as long as each pass finds it (WAITING_SECONDS after the
        last); forget it for those placed with nothing left to wait for."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for function_id, why in waiting.items():
                pipe.set(waiting_key(function_id), why, ex=WAITING_SECONDS)
            for function_id in placed:
                pipe.delete(waiting_key(function_id))
            await pipe.execute()

    async def waiting(self, function_ids: list[str]) -> dict[str, str]:
        """Why each of these functions' calls wait, if they do; nothing when Redis is away."""
        if not function_ids:
            return {}
        try:
            found: list[bytes | None] = await self.redis.mget([waiting_key(f) for f in function_ids])
        except (RedisError, OSError):
            return {}
        return {f: why.decode() for f, why in zip(function_ids, found, strict=True) if why is not None}

    async def notify_done(self, call_ids: Iterable[str]) -> None:
        ids = list(call_ids)
        with contextlib.suppress(RedisError, OSError):
            if len(ids) == 1:  # the usual case, without a pipeline's own cost
                await self.redis.publish(DONE_CHANNEL, ids[0])
                return
            async with self.redis.pipeline(transaction=False) as pipe:
                for call_id in ids:
                    pipe.publish(DONE_CHANNEL, call_id)
                await pipe.execute()

    def notify_done_soon(self, call_ids: Iterable[str]) -> None:
        """`notify_done` beside the caller, which goes on at once: for a process that has answered its own
        waiters already (`CompletionWaiter.settle`), so that the notice for other processes is not in their way."""
        task = asyncio.ensure_future(self.notify_done(list(call_ids)))
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)


class CompletionWaiter:
    """One subscription per API process; requests waiting for a call's result park a future here.

    Notices of the last few seconds are remembered, so that one who starts watching a call just
    after its notice went by (a submit that ends before its waiter is set up) still hears of it.
    A future resolves to the ended call when this process recorded the end itself (`settle`), and to
    None when the notice came through Redis: then the waiter reads the call."""

    def __init__(self, redis: aioredis.Redis, remember_seconds: float = RECENT_SECONDS) -> None:
        self.redis = redis
        self.waiting: dict[str, set[asyncio.Future[Call | None]]] = {}
        self.task: asyncio.Task[None] | None = None
        self.remember_seconds = remember_seconds
        # call id → when its notice came, oldest first. An OrderedDict: a plain dict's first key, after
        # many deletions at its front, is found by walking past every deleted slot (7 % of the API's CPU
        # in a map of 10,000).
        self.recent: OrderedDict[str, float] = OrderedDict()

    def start(self) -> None:
        self.task = asyncio.create_task(self._listen(), name="completion-waiter")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(DONE_CHANNEL)
                    async for message in pubsub.listen():
                        self._resolve(message["data"].decode())
            except (RedisError, OSError) as exc:
                log.warning("completion channel lost; waiters fall back to polling", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)

    def settle(self, call: Call) -> None:
        """A call that this process saw end: its waiters here have it at once, with no read."""
        self._resolve(call.id, call)

    def _resolve(self, call_id: str, call: Call | None = None) -> None:
        now = time.monotonic()
        self.recent[call_id] = now
        while len(self.recent) > MAX_RECENT or next(iter(self.recent.values())) < now - self.remember_seconds:
            self.recent.popitem(last=False)
        for future in self.waiting.pop(call_id, ()):
            if not future.done():
                future.set_result(call)

    @contextlib.contextmanager
    def watching_any(self, call_ids: list[str]) -> Iterator[asyncio.Future[Call | None]]:
        """One future for many calls, resolved by the first of their notices."""
        future: asyncio.Future[Call | None] = asyncio.get_running_loop().create_future()
        if any(call_id in self.recent for call_id in call_ids):
            future.set_result(None)
        for call_id in call_ids:
            self.waiting.setdefault(call_id, set()).add(future)
        try:
            yield future
        finally:
            for call_id in call_ids:
                waiters = self.waiting.get(call_id)
                if waiters is not None:
                    waiters.discard(future)
                    if not waiters:
                        del self.waiting[call_id]

    def watching(self, call_id: str) -> contextlib.AbstractContextManager[asyncio.Future[Call | None]]:
        """A future resolved by the call's completion notice. Watch first, then read, so none is missed."""
        return self.watching_any([call_id])
