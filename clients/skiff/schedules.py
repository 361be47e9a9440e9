"""Schedules declared on functions: `@app.function(schedule=skiff.Cron("0 6 * * *"))` or `skiff.Period(hours=1)`.

The schedule is checked when the function is decorated. It is not part of `skiff.toml`: after a
deploy succeeds, `apply_schedules` makes the workspace's schedules of each scheduled function match
its decorator, through the schedules API (`/v1/schedules`).

The API has no field that marks a schedule as made by the SDK, so the SDK treats every schedule of
the function without args or kwargs as its own: it keeps one that matches the decorator (same cron
expression or period, same time zone) or creates it, and deletes the other argument-less ones, so a
schedule made through the API without arguments is replaced too. Schedules with args or kwargs are
never touched, and a function whose decorator has no `schedule=` leaves all of its schedules alone:
removing `schedule=` from a decorator does not delete the schedule it made.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from skiff.connection import Connection, default_connection, error_from_response, every_item
from skiff.exceptions import FieldError, InvalidRequest
from skiff_client.api.schedules import create_schedule, delete_schedule, list_schedules
from skiff_client.models.schedule_create import ScheduleCreate
from skiff_client.models.schedule_out import ScheduleOut
from skiff_client.models.schedule_page import SchedulePage
from skiff_client.types import UNSET, Unset

# The server's limits (api/schedules/cron.py and schemas.py), copied: the SDK never imports the server.
MAX_EXPRESSION_LENGTH = 128
MIN_PERIOD_SECONDS = 60
MAX_PERIOD_SECONDS = 366 * 24 * 3600
MAX_TIMEZONE_LENGTH = 64
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
CRON_FIELDS = "minute hour day-of-month month day-of-week"
# The shape of one field; the server checks each value against its field's range.
_CRON_FIELD = re.compile(r"[A-Za-z0-9*/,-]+")


@dataclass(frozen=True)
class Cron:
    """Call the function at every slot of a cron expression, read in `timezone` (an IANA name).

    Five fields, `minute hour day-of-month month day-of-week` (e.g. `"*/15 9-17 * * mon-fri"`), or
    `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. The SDK checks the expression's shape and
    the time zone; the server checks each field's values when the schedule is created on deploy.
    """

    expression: str
    timezone: str = "UTC"

    def problems(self, path: str) -> list[FieldError]:
        found: list[FieldError] = []
        text = self.expression.strip() if isinstance(self.expression, str) else None
        if text is None or not text or len(self.expression) > MAX_EXPRESSION_LENGTH:
            message = f"expected a cron expression of 1..{MAX_EXPRESSION_LENGTH} characters, got {self.expression!r}"
            found.append(FieldError(f"{path}.cron", message))
        elif text.startswith("@"):
            if text.lower() not in CRON_ALIASES:
                message = f"unknown alias {text!r}; allowed {', '.join(CRON_ALIASES)}"
                found.append(FieldError(f"{path}.cron", message))
        else:
            parts = text.split()
            if len(parts) != len(CRON_FIELDS.split()) or not all(_CRON_FIELD.fullmatch(part) for part in parts):
                message = f'{text!r} is not a cron expression; expected 5 fields ({CRON_FIELDS}), e.g. "0 6 * * *"'
                found.append(FieldError(f"{path}.cron", message))
        if (problem := timezone_problem(self.timezone)) is not None:
            found.append(FieldError(f"{path}.timezone", problem))
        return found


@dataclass(frozen=True)
class Period:
    """Call the function every `days + hours + minutes + seconds`, counted from the schedule's creation."""

    days: float = 0
    hours: float = 0
    minutes: float = 0
    seconds: float = 0

    @property
    def total_seconds(self) -> float:
        return self.days * 86_400 + self.hours * 3600 + self.minutes * 60 + self.seconds

    def problems(self, path: str) -> list[FieldError]:
        for key in ("days", "hours", "minutes", "seconds"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return [FieldError(f"{path}.{key}", f"expected a number, got {type(value).__name__} {value!r}")]
        total = self.total_seconds
        allowed = f"allowed {MIN_PERIOD_SECONDS}..{MAX_PERIOD_SECONDS} seconds (1 minute to 366 days)"
        if not MIN_PERIOD_SECONDS <= total <= MAX_PERIOD_SECONDS:  # NaN fails this too
            return [FieldError(f"{path}.period", f"a period of {total:g} seconds is out of range; {allowed}")]
        if total != int(total):
            return [FieldError(f"{path}.period", f"a period of {total:g} seconds is not a whole number of seconds")]
        return []


Schedule = Cron | Period


def timezone_problem(name: object) -> str | None:
    """Why `name` is not a time zone, or None. Unchecked where this Python has no time zone data."""
    example = "use an IANA name such as UTC, Europe/Berlin or America/New_York"
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_TIMEZONE_LENGTH:
        return f"expected a time zone name of 1..{MAX_TIMEZONE_LENGTH} characters, got {name!r}; {example}"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if zoneinfo.available_timezones():  # without tzdata, leave the check to the server
            return f"unknown time zone {name!r}; {example}"
    return None


def schedule_problems(value: object, path: str) -> list[FieldError]:
    if value is None:
        return []
    if isinstance(value, Cron | Period):
        return value.problems(path)
    example = 'skiff.Cron("0 6 * * *", timezone="Europe/Berlin") or skiff.Period(hours=1)'
    return [FieldError(path, f"expected {example}, got {value!r}")]


@dataclass(frozen=True)
class AppliedSchedule:
    """A schedule `apply_schedules` created, kept or deleted for a function."""

    action: str  # "created", "kept" or "deleted"
    id: str
    function: str
    cron: str | None
    period_seconds: int | None
    timezone: str

    @classmethod
    def from_api(cls, action: str, schedule: ScheduleOut) -> AppliedSchedule:
        return cls(action, schedule.id, schedule.function, schedule.cron, schedule.period_seconds, schedule.timezone)

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron!r} ({self.timezone})"
        return f"every {self.period_seconds} s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "id": self.id,
            "function": self.function,
            "cron": self.cron,
            "period_seconds": self.period_seconds,
            "timezone": self.timezone,
        }


def _timing(schedule: Schedule) -> tuple[str | None, int | None, str]:
    if isinstance(schedule, Cron):
        return schedule.expression.strip(), None, schedule.timezone
    return None, int(schedule.total_seconds), "UTC"


def _managed(schedule: ScheduleOut) -> bool:
    """Whether the SDK may replace the schedule: the API cannot tell who made it, so one without arguments."""
    return not schedule.args and not schedule.kwargs.to_dict()


def list_all(*, connection: Connection | None = None) -> list[ScheduleOut]:
    """Every schedule of the workspace."""
    conn = connection or default_connection()

    def fetch(cursor: str | Unset) -> SchedulePage:
        return conn.send(lambda c: list_schedules.sync_detailed(client=c, cursor=cursor, limit=200), idempotent=True)

    return every_item(fetch)


def apply_schedules(
    app_name: str, declared: Iterable[tuple[str, Schedule]], *, connection: Connection | None = None
) -> list[AppliedSchedule]:
    """Make each `(function, schedule)` pair the one argument-less schedule of that function of `app_name`.

    A matching schedule (same cron expression or period, same time zone, no args or kwargs) is kept,
    paused or not; otherwise the schedule is created. Then the function's other schedules without
    args or kwargs are deleted; schedules with arguments, and those of undeclared functions, are left alone.
    """
    wanted = list(declared)
    if not wanted:
        return []
    conn = connection or default_connection()
    existing = [s for s in list_all(connection=conn) if s.app == app_name]
    applied: list[AppliedSchedule] = []
    for function, schedule in wanted:
        cron, period_seconds, timezone = _timing(schedule)
        mine = [s for s in existing if s.function == function and _managed(s)]
        same = [s for s in mine if (s.cron, s.period_seconds, s.timezone) == (cron, period_seconds, timezone)]
        if same:
            kept = same[0]
            applied.append(AppliedSchedule.from_api("kept", kept))
        else:
            kept = _create(conn, app_name, function, cron, period_seconds, timezone)
            applied.append(AppliedSchedule.from_api("created", kept))
        for other in mine:
            if other.id != kept.id:
                _delete(conn, other.id)
                applied.append(AppliedSchedule.from_api("deleted", other))
    return applied


def _delete(conn: Connection, schedule_id: str) -> None:
    """Delete a schedule; one already gone is fine. The answer is an empty 204, which `send` does not take."""
    response = delete_schedule.sync_detailed(schedule_id, client=conn.client)
    if response.status_code not in (204, 404):
        raise error_from_response(response.status_code, response.content, response.headers)


def _create(
    conn: Connection, app_name: str, function: str, cron: str | None, period_seconds: int | None, timezone: str
) -> ScheduleOut:
    body = ScheduleCreate(
        app=app_name,
        function=function,
        cron=cron if cron is not None else UNSET,
        period_seconds=period_seconds if period_seconds is not None else UNSET,
        timezone=timezone,
    )
    key = uuid.uuid4().hex  # a retried create returns the same schedule
    try:
        return conn.send(
            lambda c: create_schedule.sync_detailed(client=c, body=body, idempotency_key=key), idempotent=True
        )
    except InvalidRequest as exc:
        refused = InvalidRequest(
            f"app {app_name!r} was deployed, but the server refused the schedule of function {function!r}: {exc}",
            status=exc.status,
        )
        refused.errors = exc.errors
        raise refused from None
