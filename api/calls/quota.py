"""How many calls a workspace has queued or running, counted in Postgres at most once a second
per API process, so that one workspace's flood is refused without slowing everyone's submits.

A count older than a second that left plenty of room (the call keeps the workspace under half its
limit) admits the call at once and is counted again beside it, off the submit's path: the first call
after a quiet spell (a cold start, most often) does not wait for the count. Near the limit the count
is taken before answering. The limit is therefore approximate under bursts: within a second each API
process may accept a few calls past it. Every call it accepts is durable all the same."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from api.calls.beside import RecountsBeside
from api.errors import RateLimited

RECOUNT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("skiff.calls")

CountActive = Callable[[str], Awaitable[int]]


class ActiveCallQuota:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, float]] = {}
        self._recounts = RecountsBeside()

    async def admit(self, count_active: CountActive, workspace_id: str, calls: int = 1) -> None:
        """Raises RateLimited when the workspace's calls would go past its limit; counts those it admits.
        `count_active` counts a workspace's queued and running calls in Postgres."""
        if self.limit <= 0:
            return
        known = self._counts.get(workspace_id)
        stale = known is None or time.monotonic() - known[1] > RECOUNT_SECONDS
        if known is None or (stale and known[0] + calls > self.limit // 2):
            known = (await count_active(workspace_id), time.monotonic())
        elif stale:
            self._recounts.start(workspace_id, lambda: self._recount(count_active, workspace_id))
        count, counted_at = known
        if count + calls > self.limit:
            raise RateLimited(
                f"this workspace has {count} calls queued or running{adding_note(calls)}; its limit "
                f"(SKIFF_WORKSPACE_MAX_ACTIVE_CALLS) is {self.limit}; retry after {RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._counts[workspace_id] = (count + calls, counted_at)

    async def _recount(self, count_active: CountActive, workspace_id: str) -> None:
        try:
            count = await count_active(workspace_id)
        except Exception as exc:  # the next submit past the window counts again
            log.warning("could not count a workspace's active calls", extra={"error": repr(exc)})
            return
        self._counts[workspace_id] = (count, time.monotonic())


def adding_note(calls: int) -> str:
    """How a refusal names a request that would add many calls at once."""
    return f" and this request would add {calls}" if calls > 1 else ""
