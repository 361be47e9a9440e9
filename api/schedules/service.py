"""Creating, reading, pausing, resuming and deleting schedules; what a schedule's slots are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.calls.schemas import CallInput
from api.calls.service import CallService
from api.deployments.errors import FieldIssue, InvalidFields
from api.errors import NotFound, PayloadTooLarge
from api.ids import is_valid_id, new_id
from api.pagination import page_query, split_page
from api.schedules.cron import CronError, Period, Spec, TimezoneError, next_fire, parse_cron, upcoming, zone
from api.schedules.models import Schedule
from api.schedules.schemas import ScheduleCreate, ScheduleDetail, ScheduleOut

ID_PREFIX = "sch"
PREVIEW_RUNS = 5


class InvalidSchedule(InvalidFields):
    summary = "schedule is invalid"


def spec_of(schedule: Schedule) -> Spec:
    """The schedule's slots. A period counts whole seconds from the creation time."""
    if schedule.period_seconds is not None:
        return Period(schedule.period_seconds, schedule.created_at.replace(microsecond=0))
    assert schedule.cron is not None  # the table's check constraint: exactly one of the two
    return parse_cron(schedule.cron, schedule.timezone)


def call_input_of(schedule: Schedule) -> CallInput:
    return msgspec.json.decode(schedule.input, type=CallInput)


def schedule_out(schedule: Schedule) -> ScheduleOut:
    return ScheduleOut(**_fields(schedule))


def schedule_detail(schedule: Schedule) -> ScheduleDetail:
    runs = [] if schedule.paused else upcoming(spec_of(schedule), schedule.next_fire_at, PREVIEW_RUNS)
    return ScheduleDetail(**_fields(schedule), next_runs=runs)


def _fields(schedule: Schedule) -> dict[str, Any]:
    body = call_input_of(schedule)
    return dict(
        id=schedule.id,
        app=schedule.app_name,
        function=schedule.function_name,
        cron=schedule.cron,
        period_seconds=schedule.period_seconds,
        timezone=schedule.timezone,
        args=body.args,
        kwargs=body.kwargs,
        paused=schedule.paused,
        next_fire_at=None if schedule.paused else schedule.next_fire_at,
        last_fired_at=schedule.last_fired_at,
        last_call_id=schedule.last_call_id,
        created_at=schedule.created_at,
    )


def check_timing(spec: ScheduleCreate) -> None:
    """Exactly one of `cron` and `period_seconds`, a cron expression that parses, a known time zone."""
    issues: list[FieldIssue] = []
    if (spec.cron is None) == (spec.period_seconds is None):
        given = "both" if spec.cron is not None else "neither"
        issues.append(
            FieldIssue("cron", f"give exactly one of `cron` (e.g. '*/15 * * * *') and `period_seconds`; got {given}")
        )
    try:
        zone(spec.timezone)
    except TimezoneError as exc:
        issues.append(FieldIssue("timezone", str(exc)))
    if spec.cron is not None:
        try:
            parse_cron(spec.cron)
        except CronError as exc:
            issues.append(FieldIssue("cron", str(exc)))
    if issues:
        raise InvalidSchedule(issues)


class ScheduleService:
    def __init__(self, session: AsyncSession, calls: CallService) -> None:
        self.session = session
        self.calls = calls

    async def create(self, workspace_id: str, spec: ScheduleCreate) -> Schedule:
        check_timing(spec)
        await self.calls.resolve(self.session, workspace_id, spec.app, spec.function, None)
        body = msgspec.json.encode(CallInput(args=spec.args, kwargs=spec.kwargs))
        if len(body) > self.calls.max_input_bytes:
            raise PayloadTooLarge(
                f"schedule arguments are {len(body)} bytes; the limit is {self.calls.max_input_bytes} bytes"
            )
        now = await self._now()
        schedule = Schedule(
            id=new_id(ID_PREFIX),
            workspace_id=workspace_id,
            app_name=spec.app,
            function_name=spec.function,
            cron=spec.cron.strip() if spec.cron is not None else None,
            period_seconds=spec.period_seconds,
            timezone=spec.timezone,
            input=body,
            paused=False,
            created_at=now,
        )
        schedule.next_fire_at = next_fire(spec_of(schedule), now)
        self.session.add(schedule)
        await self.session.flush()
        return schedule

    async def get(self, workspace_id: str, schedule_id: str, *, lock: bool = False) -> Schedule:
        schedule = None
        if is_valid_id(schedule_id, ID_PREFIX):
            stmt = select(Schedule).where(Schedule.workspace_id == workspace_id, Schedule.id == schedule_id)
            schedule = await self.session.scalar(stmt.with_for_update() if lock else stmt)
        if schedule is None:
            raise NotFound(f"schedule {schedule_id[:64]!r} not found")
        return schedule

    async def list(self, workspace_id: str, cursor: str | None, limit: int) -> tuple[list[Schedule], str | None]:
        stmt = page_query(select(Schedule).where(Schedule.workspace_id == workspace_id), Schedule.id, cursor, limit)
        return split_page((await self.session.scalars(stmt)).all(), limit, lambda s: s.id)

    async def pause(self, workspace_id: str, schedule_id: str) -> Schedule:
        schedule = await self.get(workspace_id, schedule_id, lock=True)
        schedule.paused = True
        await self.session.flush()
        return schedule

    async def resume(self, workspace_id: str, schedule_id: str) -> Schedule:
        """Slots that passed while paused are skipped: the next fire is the first slot after now."""
        schedule = await self.get(workspace_id, schedule_id, lock=True)
        if schedule.paused:
            schedule.paused = False
            schedule.next_fire_at = next_fire(spec_of(schedule), await self._now())
            await self.session.flush()
        return schedule

    async def delete(self, workspace_id: str, schedule_id: str) -> None:
        schedule = await self.get(workspace_id, schedule_id, lock=True)
        await self.session.execute(delete(Schedule).where(Schedule.id == schedule.id))

    async def _now(self) -> datetime:
        return (await self.session.execute(select(func.now()))).scalar_one()
