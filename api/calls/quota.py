"""How many calls a workspace has queued or running, counted in Postgres at most once a second
per API process, so that one workspace's flood is refused without slowing everyone's submits.

The limit is therefore approximate under bursts: within a second each API process may accept a few
calls past it. Every call it accepts is durable all the same."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from api.errors import RateLimited

RECOUNT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5


class ActiveCallQuota:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, float]] = {}

    async def admit(self, count_active: Callable[[str], Awaitable[int]], workspace_id: str, calls: int = 1) -> None:
        """Raises RateLimited when the workspace's calls would go past its limit; counts those it admits.
        `count_active` counts a workspace's queued and running calls in Postgres."""
        if self.limit <= 0:
            return
        count, counted_at = self._counts.get(workspace_id, (0, 0.0))
        if time.monotonic() - counted_at > RECOUNT_SECONDS:
            count = await count_active(workspace_id)
            counted_at = time.monotonic()
        if count + calls > self.limit:
            raise RateLimited(
                f"this workspace has {count} calls queued or running{adding_note(calls)}; its limit "
                f"(SKIFF_WORKSPACE_MAX_ACTIVE_CALLS) is {self.limit}; retry after {RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._counts[workspace_id] = (count + calls, counted_at)


def adding_note(calls: int) -> str:
    """How a refusal names a request that would add many calls at once."""
    return f" and this request would add {calls}" if calls > 1 else ""
