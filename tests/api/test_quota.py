"""The workspace quota counts active calls in Postgres at most once a second; a stale count with plenty
of room admits at once and is counted again beside the submit, one near the limit before it."""

from __future__ import annotations

import asyncio

import pytest

from api.calls.quota import ActiveCallQuota
from api.errors import RateLimited


class Active:
    """A workspace's active-call count that the test sets; how often it was asked, and whether asking fails."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.asked = 0
        self.failing = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, workspace_id: str) -> int:
        self.asked += 1
        await self.gate.wait()
        if self.failing:
            raise OSError("database away")
        return self.count


async def stale(clock: list[float], active: Active, calls: int = 1) -> ActiveCallQuota:
    """A quota of 100 that counted once (admitting `calls`), two seconds ago."""
    quota = ActiveCallQuota(100)
    await quota.admit(active, "ws", calls)
    clock[0] += 2
    return quota


async def settle() -> None:
    """Let a recount started beside a submit run to its end."""
    for _ in range(2):
        await asyncio.sleep(0)


async def test_the_first_submit_waits_for_the_count_and_a_fresh_count_is_reused(clock: list[float]) -> None:
    active, quota = Active(0), ActiveCallQuota(100)
    for _ in range(10):
        await quota.admit(active, "ws")
    assert active.asked == 1


async def test_a_stale_count_with_room_admits_at_once_and_is_counted_beside(clock: list[float]) -> None:
    active = Active(10)
    quota = await stale(clock, active)
    active.count, active.gate = 90, asyncio.Event()  # the recount is slow, and finds the workspace busier
    await asyncio.wait_for(quota.admit(active, "ws"), 1)  # admitted without waiting for it
    assert active.asked == 2
    active.gate.set()
    await settle()
    with pytest.raises(RateLimited, match="has 90 calls queued or running and this request would add 11"):
        await quota.admit(active, "ws", 11)  # the new count is in use


async def test_a_stale_count_near_the_limit_is_taken_before_answering(clock: list[float]) -> None:
    active = Active(40)
    quota = await stale(clock, active, 10)  # 50 of 100 known
    active.count = 100
    with pytest.raises(RateLimited, match="SKIFF_WORKSPACE_MAX_ACTIVE_CALLS"):
        await quota.admit(active, "ws")
    assert active.asked == 2


async def test_a_failed_recount_beside_keeps_the_stale_count(clock: list[float]) -> None:
    active = Active(0)
    quota = await stale(clock, active)
    active.failing = True
    await quota.admit(active, "ws")  # admitted; the recount fails quietly
    await settle()
    active.failing = False
    await quota.admit(active, "ws")
    await asyncio.sleep(0)
    assert active.asked == 3  # still stale: counted again
