"""How many calls a workspace has queued or running, counted in Postgres at most once a second
per API process, so that one workspace's flood is refused without slowing everyone's submits.

The limit is therefore approximate under bursts: within a second each API process may accept a few
calls past it. Every call it accepts is durable all the same."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.calls.models import Call
from api.calls.states import CallStatus
from api.errors import RateLimited

RECOUNT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5


class ActiveCallQuota:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, float]] = {}

    async def admit(self, session: AsyncSession, workspace_id: str) -> None:
        """Raises RateLimited when the workspace is at its limit; counts the call it admits."""
        if self.limit <= 0:
            return
        count, counted_at = self._counts.get(workspace_id, (0, 0.0))
        if time.monotonic() - counted_at > RECOUNT_SECONDS:
            count = (
                await session.scalar(
                    select(func.count())
                    .select_from(Call)
                    .where(
                        Call.workspace_id == workspace_id,
                        Call.status.in_([CallStatus.QUEUED.value, CallStatus.RUNNING.value]),
                    )
                )
                or 0
            )
            counted_at = time.monotonic()
        if count >= self.limit:
            raise RateLimited(
                f"this workspace has {count} calls queued or running; its limit "
                f"(SKIFF_WORKSPACE_MAX_ACTIVE_CALLS) is {self.limit}; retry after {RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._counts[workspace_id] = (count + 1, counted_at)
