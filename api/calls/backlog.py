"""A function's backlog limit (`max_pending`), counted in its Redis queue, asked only when it matters.

The queue's length is a round trip to Redis, on every submit's path. While a recent count left
plenty of room, submits from this process use up half of that room before asking again, and ask
at least once a second; near the limit every submit asks. A count older than a second that, with
what this process added since, still leaves the function under half its limit admits the submit at
once and is asked again beside it: the first call after a quiet spell (a cold start, most often)
does not wait for Redis. Like the workspace quota, the limit is approximate when several API
processes take submits at once. Every call it accepts is durable."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from api.calls.beside import RecountsBeside
from api.calls.quota import adding_note
from api.errors import RateLimited

RECOUNT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5
MAX_REMEMBERED = 10_000  # functions whose last count is kept


@dataclass
class _Count:
    pending: int
    counted_at: float
    added: int  # by this process since


class Backlog:
    def __init__(self) -> None:
        self._counts: dict[str, _Count] = {}
        self._recounts = RecountsBeside()

    async def admit(
        self, queue_length: Callable[[str], Awaitable[int]], name: str, function_id: str, limit: int, adding: int = 1
    ) -> None:
        """Raises RateLimited when the function's queue would go past `limit`; `queue_length`
        counts the calls waiting in a function's queue."""
        now = time.monotonic()
        known = self._counts.get(function_id)
        if known is not None and now - known.counted_at < RECOUNT_SECONDS:
            if known.added + adding <= (limit - known.pending) // 2:
                known.added += adding
                return
        elif known is not None and known.pending + known.added + adding <= limit // 2:
            known.added += adding
            self._recounts.start(function_id, lambda: self._recount(queue_length, function_id))
            return
        try:
            pending = await queue_length(function_id)
        except (RedisError, OSError):
            return  # Redis away: accept (the call is durable) rather than refuse on a guess
        if pending + adding > limit:
            raise RateLimited(
                f"function {name!r} has {pending} calls waiting{adding_note(adding)}, "
                f"its limit (max_pending) is {limit}; "
                f"retry after {RETRY_AFTER_SECONDS} s or raise max_pending",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._remember(function_id, _Count(pending, now, adding))

    def _remember(self, function_id: str, count: _Count) -> None:
        if len(self._counts) >= MAX_REMEMBERED:
            self._counts.clear()
        self._counts[function_id] = count

    async def _recount(self, queue_length: Callable[[str], Awaitable[int]], function_id: str) -> None:
        counted_at = time.monotonic()
        try:
            pending = await queue_length(function_id)
        except (RedisError, OSError):
            return  # the next submit past the second asks again
        self._remember(function_id, _Count(pending, counted_at, 0))
