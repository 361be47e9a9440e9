"""A function's backlog limit (`max_pending`), counted in its Redis queue, asked only when it matters.

The queue's length is a round trip to Redis, on every submit's path. While a recent count left
plenty of room, submits from this process use up half of that room before asking again, and ask
at least once a second; near the limit every submit asks. Like the workspace quota, the limit is
approximate when several API processes take submits at once. Every call it accepts is durable."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

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

    async def admit(
        self, queue_length: Callable[[str], Awaitable[int]], name: str, function_id: str, limit: int, adding: int = 1
    ) -> None:
        """Raises RateLimited when the function's queue would go past `limit`; `queue_length`
        counts the calls waiting in a function's queue."""
        now = time.monotonic()
        known = self._counts.get(function_id)
        if (
            known is not None
            and now - known.counted_at < RECOUNT_SECONDS
            and known.added + adding <= (limit - known.pending) // 2
        ):
            known.added += adding
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
        if len(self._counts) >= MAX_REMEMBERED:
            self._counts.clear()
        self._counts[function_id] = _Count(pending, now, adding)
