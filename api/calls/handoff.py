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
from dataclasses import dataclass, field

from api.calls.store import Claimed


@dataclass(eq=False)
class IdleSlot:
    container_id: str
    node_id: str
    function_id: str
    lease_seconds: float
    cold_start_ms: float | None  # set while the slot waits for its container's very first input
    handed: asyncio.Future[Claimed | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class IdleSlots:
    def __init__(self) -> None:
        self._waiting: dict[str, list[IdleSlot]] = {}  # function id → slots, longest waiting first
        self._background: set[asyncio.Task[None]] = set()

    def keep(self, task: asyncio.Task[None]) -> None:
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
