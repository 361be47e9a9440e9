"""Request and response bodies of the schedules API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from api.apps.schemas import AppName
from api.calls.schemas import CallInput
from api.schedules.cron import MAX_EXPRESSION_LENGTH, MAX_PERIOD_SECONDS, MIN_PERIOD_SECONDS

FunctionName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
CronExpression = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="Five fields, `minute hour day-of-month month day-of-week` (e.g. `*/15 9-17 * * mon-fri`), "
        "or @hourly, @daily, @weekly, @monthly, @yearly.",
    ),
]
PeriodSeconds = Annotated[
    int,
    msgspec.Meta(
        ge=MIN_PERIOD_SECONDS,
        le=MAX_PERIOD_SECONDS,
        description="Fire every this many seconds, counted from the schedule's creation.",
    ),
]
Timezone = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone the cron fields are read in.")
]


class ScheduleCreate(CallInput, kw_only=True, forbid_unknown_fields=True):
    """Call `function` of `app` with `args` and `kwargs` on a cron expression or every `period_seconds`
    (exactly one of the two)."""

    app: AppName
    function: FunctionName
    cron: CronExpression | None = None
    period_seconds: PeriodSeconds | None = None
    timezone: Timezone = "UTC"


class ScheduleOut(msgspec.Struct, kw_only=True):
    id: str
    app: str
    function: str
    cron: str | None
    period_seconds: int | None
    timezone: str
    args: list[Any]
    kwargs: dict[str, Any]
    paused: bool
    # None while paused: a paused schedule has no next fire until it is resumed.
    next_fire_at: datetime | None
    last_fired_at: datetime | None
    last_call_id: str | None
    created_at: datetime


class ScheduleDetail(ScheduleOut, kw_only=True):
    """A schedule and its next fire times (none while paused)."""

    next_runs: list[datetime]


class SchedulePage(msgspec.Struct, kw_only=True):
    items: list[ScheduleOut]
    next_cursor: str | None
