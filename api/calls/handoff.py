"""Slots of this process that wait for an input, so that a call submitted here goes straight to one.

A slot asking for its next input waits on its function's Redis queue. When a call of that function is
submitted to the same API process while such a slot waits, the submit claims the slot, writes the
call as already running on the slot's container (one statement instead of an insert and a claim),
and hands the claimed call to the slot here, with no trip through Redis. Postgres stays the truth:
a call handed to a slot whose agent has gone away holds a lease like any claimed call, and runs
again when that lease expires.

Protocol: a slot `offer`s itself with a fresh future. A submit `take`s an offered slot (so no two
submits take one), then resolves its future exactly once: with the claimed call (`hand`), or with
None when the container could no longer take calls (`give_back`); a slot that gets None and still
waits offers itself again. A slot that stops waiting `withdraw`s; False means a submit took it
first, and its future will say what came of that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from api.calls.store import Claimed


@dataclass(eq=False)
class IdleSlot:
    container_id: str
    node_id: str
    function_id: str
    lease_seconds: float
    cold_start_ms: float | None  # set while the slot waits for its container's very first input
    handed: asyncio.Future[Claimed | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(eq=False)
class ParkedPop:
    """A slot's blocking pop left waiting while the slot works, for its next ask to take up."""

    popping: asyncio.Future[Any]
    take: int
    unused: Callable[[], Coroutine[Any, Any, None]]  # runs if the pop ends while parked


class IdleSlots:
    def __init__(self) -> None:
        self._waiting: dict[str, list[IdleSlot]] = {}  # function id → slots, longest waiting first
        self._parked: dict[str, list[ParkedPop]] = {}  # container id → its slots' waiting pops
        # Pops that carry our done callback. A warm slot parks the same pop again after every call:
        # one callback per pop, not one per parking, or a pop of a busy slot would gather thousands,
        # each one making `asyncio.wait` on it slower, all run at once when it ends.
        self._watched: set[asyncio.Future[Any]] = set()
        self._background: set[asyncio.Future[None]] = set()

    def park(
        self,
        container_id: str,
        take: int,
        popping: asyncio.Future[Any],
        unused: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """Keeps a pending pop for the container's next ask; `unused` runs if it ends first (the slot
        is busy: what it popped must go back for others)."""
        self._parked.setdefault(container_id, []).append(ParkedPop(popping, take, unused))
        if popping not in self._watched:
            self._watched.add(popping)
            popping.add_done_callback(partial(self._pop_ended, container_id))

    def _pop_ended(self, container_id: str, popping: asyncio.Future[Any]) -> None:
        self._watched.discard(popping)
        waiting = self._parked.get(container_id, [])
        parked = next((p for p in waiting if p.popping is popping), None)
        if parked is None:  # an ask has taken it up: what it popped is that ask's
            return
        waiting.remove(parked)
        if not waiting:
            del self._parked[container_id]
        if not popping.cancelled() and popping.exception() is None:
            self.keep(asyncio.ensure_future(parked.unused()))

    def unpark(self, container_id: str, take: int) -> asyncio.Future[Any] | None:
        """A pop of the container still waiting, parked by an earlier ask for as many values."""
        for parked in self._parked.get(container_id, ()):
            if parked.take == take and not parked.popping.done():
                self._parked[container_id].remove(parked)
                if not self._parked[container_id]:
                    del self._parked[container_id]
                return parked.popping
        return None

    def keep(self, task: asyncio.Future[None]) -> None:
        """Holds a slot's clean-up task until it ends (the loop keeps only weak references)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def offer(self, slot: IdleSlot) -> None:
        self._waiting.setdefault(slot.function_id, []).append(slot)

    def take(self, function_id: str) -> IdleSlot | None:
        """The slot of the function that has waited longest, now reserved for the caller."""
        slots = self._waiting.get(function_id)
        while slots:
            slot = slots.pop(0)
            if not slots:
                del self._waiting[function_id]
            if not slot.handed.done():
                return slot
        return None

    def hand(self, slot: IdleSlot, call: Claimed) -> None:
        if not slot.handed.done():
            slot.handed.set_result(call)

    def give_back(self, slot: IdleSlot) -> None:
        if not slot.handed.done():
            slot.handed.set_result(None)

    def withdraw(self, slot: IdleSlot) -> bool:
        """True when the slot was still free here; False when a submit has taken it (see `handed`)."""
        slots = self._waiting.get(slot.function_id)
        if slots is None or slot not in slots:
            return False
        slots.remove(slot)
        if not slots:
            del self._waiting[slot.function_id]
        return True
