"""When a schedule fires: at most one call per slot, and no burst after downtime. Pure: `now` is passed in.

A slot is a time the schedule's cron expression or period names (`api.schedules.cron`). The
scheduler keeps, per schedule, `next_fire_at`: the earliest slot not yet handled. Given it and
Postgres's `now`, the policy is:

- `next_fire_at` is still ahead: nothing to do.
- One or more slots have passed: fire once, for the latest passed slot, if it is at most `grace`
  old. Older passed slots are skipped, never replayed: a scheduler that was down for an hour
  does not fire sixty per-minute calls when it returns, only the current minute's.
- Every passed slot is older than `grace`: fire nothing.

Either way `next_fire_at` moves to the first slot after `now`, so each slot is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from api.schedules.cron import Spec, next_fire

DEFAULT_GRACE = timedelta(seconds=60)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class FirePlan:
    slot: datetime | None  # the slot to fire now; None: nothing fires
    next_fire_at: datetime  # the first slot after now, or the untouched one when nothing was due


def plan_fire(spec: Spec, next_fire_at: datetime, now: datetime, grace: timedelta = DEFAULT_GRACE) -> FirePlan:
    if next_fire_at > now:
        return FirePlan(slot=None, next_fire_at=next_fire_at)
    # Only slots in [now - grace, now] may fire, so the search starts there instead of walking every missed slot.
    slot = next_fire(spec, max(next_fire_at, now - grace) - _TICK)
    if slot > now:
        return FirePlan(slot=None, next_fire_at=slot)
    while (following := next_fire(spec, slot)) <= now:
        slot = following
    return FirePlan(slot=slot, next_fire_at=following)
