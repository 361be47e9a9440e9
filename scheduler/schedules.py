"""Firing due schedules: the IO around `scheduler.cron.plan_fire`, judged by Postgres's clock.

Each due schedule is handled in a transaction of its own that holds its row (`FOR UPDATE SKIP
LOCKED`, so a second scheduler passes it by): the call is made through `CallService.submit`, then
`next_fire_at` moves past now and the fire is recorded, and the transaction commits. `submit`
commits on its own, with the idempotency key `schedule:{id}:{slot}`; if we die before our commit,
the schedule is still due, and firing that slot again returns the call the key already made.
One slot, one call.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.calls.service import CallService
from api.errors import SkiffError
from api.schedules.cron import ScheduleSpecError
from api.schedules.models import Schedule
from api.schedules.service import call_input_of, spec_of
from scheduler.cron import DEFAULT_GRACE, plan_fire

log = logging.getLogger("skiff.scheduler")
FIRE_BATCH = 100  # schedules handled per tick at most; the rest wait a tick


def slot_key(schedule_id: str, slot: datetime) -> str:
    """The call's Idempotency-Key: the same slot of the same schedule always names the same call."""
    return f"schedule:{schedule_id}:{slot.isoformat()}"


async def fire_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    calls: CallService,
    *,
    grace: timedelta = DEFAULT_GRACE,
    limit: int = FIRE_BATCH,
) -> list[str]:
    """Decide every due schedule (up to `limit`); returns the ids of the calls made."""
    made: list[str] = []
    for _ in range(limit):
        async with sessionmaker() as session, session.begin():
            now = (await session.execute(select(func.now()))).scalar_one()
            schedule = await session.scalar(
                select(Schedule)
                .where(~Schedule.paused, Schedule.next_fire_at <= now)
                .order_by(Schedule.next_fire_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if schedule is None:
                break
            call_id = await _decide(calls, schedule, now, grace)
        if call_id is not None:
            made.append(call_id)
    return made


async def _decide(calls: CallService, schedule: Schedule, now: datetime, grace: timedelta) -> str | None:
    try:
        plan = plan_fire(spec_of(schedule), schedule.next_fire_at, now, grace)
    except ScheduleSpecError as exc:
        # Only a time zone gone from the system's tz database gets here; firing at a guess would be worse.
        log.error("schedule cannot be read; paused", extra={"schedule": schedule.id, "error": str(exc)})
        schedule.paused = True
        return None
    if plan.slot != schedule.next_fire_at:
        log.warning(
            "schedule slots missed; skipped, not replayed",
            extra={"schedule": schedule.id, "from": schedule.next_fire_at.isoformat(), "now": now.isoformat()},
        )
    schedule.next_fire_at = plan.next_fire_at
    if plan.slot is None:
        return None
    try:
        call = await calls.submit(
            schedule.workspace_id,
            schedule.app_name,
            schedule.function_name,
            call_input_of(schedule),
            idempotency_key=slot_key(schedule.id, plan.slot),
        )
    except SkiffError as exc:
        # The app or function is gone, or the arguments outgrew a lowered limit: this slot is lost, not retried.
        log.warning("schedule could not fire", extra={"schedule": schedule.id, "error": exc.detail})
        return None
    schedule.last_fired_at = plan.slot
    schedule.last_call_id = call.id
    return call.id
