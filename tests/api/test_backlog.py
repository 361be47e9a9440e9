"""The backlog check asks Redis for a queue's length only when a recent count leaves too little room."""

from __future__ import annotations

import asyncio

import pytest

from api.calls.backlog import Backlog
from api.errors import RateLimited


class Queue:
    """A queue length that the test sets, and how often it was asked."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.asked = 0

    async def __call__(self, function_id: str) -> int:
        self.asked += 1
        return self.length


async def test_plenty_of_room_is_asked_about_once_until_half_of_it_is_used() -> None:
    queue, backlog = Queue(0), Backlog()
    for _ in range(50):  # limit 100, empty queue: 50 submits of one use half the room
        await backlog.admit(queue, "f", "fn_1", 100)
    assert queue.asked == 1
    await backlog.admit(queue, "f", "fn_1", 100)
    assert queue.asked == 2


async def test_near_the_limit_every_submit_asks_and_past_it_is_refused_naming_the_limit() -> None:
    queue, backlog = Queue(1), Backlog()
    await backlog.admit(queue, "f", "fn_1", 2)
    queue.length = 2
    with pytest.raises(RateLimited, match=r"function 'f' has 2 calls waiting, its limit \(max_pending\) is 2"):
        await backlog.admit(queue, "f", "fn_1", 2)
    assert queue.asked == 2


class HeldQueue(Queue):
    """A queue length that answers only once the test lets it."""

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.answer = asyncio.Event()

    async def __call__(self, function_id: str) -> int:
        self.asked += 1
        await self.answer.wait()
        return self.length


async def test_a_count_older_than_a_second_with_plenty_of_room_is_asked_again_beside_the_submit(
    clock: list[float],
) -> None:
    queue, backlog = HeldQueue(0), Backlog()
    queue.answer.set()
    await backlog.admit(queue, "f", "fn_1", 1000)
    clock[0] += 0.5
    await backlog.admit(queue, "f", "fn_1", 1000)
    assert queue.asked == 1

    clock[0] += 0.6
    queue.answer.clear()
    admitting = asyncio.ensure_future(backlog.admit(queue, "f", "fn_1", 1000))
    for _ in range(10):
        await asyncio.sleep(0)
    assert admitting.done() and queue.asked == 2  # admitted, with the count still out
    queue.length = 999  # the count beside comes back near the limit: the next submit asks first
    queue.answer.set()
    for _ in range(10):
        await asyncio.sleep(0)
    await backlog.admit(queue, "f", "fn_1", 1000)
    assert queue.asked == 3


async def test_a_count_older_than_a_second_near_the_limit_is_asked_before_the_submit(clock: list[float]) -> None:
    queue, backlog = Queue(499), Backlog()
    await backlog.admit(queue, "f", "fn_1", 1000)  # 499 + 1: half the limit, no more
    clock[0] += 1.1
    queue.length = 1000
    with pytest.raises(RateLimited, match="its limit"):
        await backlog.admit(queue, "f", "fn_1", 1000)
    assert queue.asked == 2


async def test_a_batch_counts_as_its_size() -> None:
    queue, backlog = Queue(0), Backlog()
    await backlog.admit(queue, "f", "fn_1", 100, adding=40)
    queue.length = 90  # others filled the queue meanwhile
    with pytest.raises(RateLimited, match="this request would add 20"):
        await backlog.admit(queue, "f", "fn_1", 100, adding=20)  # 40 + 20 is past half the room: it asks
    assert queue.asked == 2
