"""When a schedule's slots fall: cron expressions in a time zone, and fixed periods. Pure: no clock reads.

A cron expression has five fields, `minute hour day-of-month month day-of-week`, each a `*`, a
number, a range `1-5`, a step `*/15`, `10-50/10` or `5/10` (from 5 to the field's end), or a
comma-separated list of those; months and weekdays take names (`jan`, `mon-fri`), and Sunday is
0 or 7. `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly` stand for the usual expressions.
As in Vixie cron, a day field counts as restricted unless it starts with `*`, and when both day
fields are restricted a day matching either one fires (`0 0 1 * mon`: the 1st and every Monday).

Cron times are wall-clock times in the schedule's IANA time zone. A local time that does not
exist (the hour skipped when clocks spring forward) is skipped; one that happens twice (clocks
fall back) fires once, at its first occurrence. A period fires every `seconds` after its anchor
(the schedule's creation), regardless of time zone. Fire times are returned in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_EXPRESSION_LENGTH = 128
MIN_PERIOD_SECONDS = 60
MAX_PERIOD_SECONDS = 366 * 24 * 3600
# A satisfiable expression fires within 8 years (29 February across a skipped leap year, 2096 → 2104).
_SEARCH_YEARS = 9
_MINUTE = timedelta(minutes=1)
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February as in a leap year
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class ScheduleSpecError(ValueError):
    """An expression, period or time zone that cannot describe a schedule; the message says why."""


class CronError(ScheduleSpecError):
    pass


class TimezoneError(ScheduleSpecError):
    pass


class PeriodError(ScheduleSpecError):
    pass


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)

    def allowed(self) -> str:
        words = list(self.names)
        spelled = f", or {words[0]}-{words[-1]}" if words else ""
        return f"{self.low}-{self.high}{spelled}"


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, {n: i for i, n in enumerate(_MONTH_NAMES, start=1)}),
    _Field("day-of-week", 0, 7, {n: i for i, n in enumerate(_WEEKDAY_NAMES)}),
)


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression: the values each field allows, sorted, and its time zone."""

    expression: str
    zone: ZoneInfo
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    either_day: bool  # both day fields restricted: a day matching either one fires

    def matches_day(self, day: date) -> bool:
        by_date = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        return by_date or by_weekday if self.either_day else by_date and by_weekday


@dataclass(frozen=True)
class Period:
    """Every `seconds`, counted from `anchor`: slots are anchor + k·seconds for k ≥ 1."""

    seconds: int
    anchor: datetime

    def __post_init__(self) -> None:
        if not MIN_PERIOD_SECONDS <= self.seconds <= MAX_PERIOD_SECONDS:
            raise PeriodError(
                f"a period of {self.seconds} seconds is out of range {MIN_PERIOD_SECONDS}-{MAX_PERIOD_SECONDS}"
            )
        if self.anchor.tzinfo is None:
            raise PeriodError("a period's anchor must carry a time zone")


Spec = Cron | Period


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimezoneError(
            f"unknown time zone {name[:64]!r}: use an IANA name such as UTC, Europe/Berlin or America/New_York"
        ) from None


def parse_cron(expression: str, timezone: str = "UTC") -> Cron:
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CronError(f"a cron expression is at most {MAX_EXPRESSION_LENGTH} characters")
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise CronError(f"unknown alias {text!r}; known: {', '.join(ALIASES)}")
        text = ALIASES[text.lower()]
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise CronError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {expression!r}; or use one of @hourly, @daily, @weekly, @monthly, @yearly"
        )
    minutes, hours, days, months, weekdays = (_parse_field(p, f) for p, f in zip(parts, _FIELDS, strict=True))
    dom_restricted, dow_restricted = not parts[2].startswith("*"), not parts[4].startswith("*")
    if dom_restricted and not dow_restricted and not any(d <= _DAYS_IN_MONTH[m] for m in months for d in days):
        named = ", ".join(_MONTH_NAMES[m - 1] for m in months)
        raise CronError(f"day-of-month field {parts[2]!r}: no such day in {named}, so the expression never fires")
    return Cron(
        expression=expression.strip(),
        zone=zone(timezone),
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=tuple(sorted({w % 7 for w in weekdays})),
        either_day=dom_restricted and dow_restricted,
    )


def _parse_field(text: str, spec: _Field) -> tuple[int, ...]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{spec.name} field {text!r}: a list has an empty item")
        base, slash, step_text = item.partition("/")
        step = _step(step_text, text, spec) if slash else 1
        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            start, _, end = base.partition("-")
            low, high = _value(start, text, spec), _value(end, text, spec)
            if low > high:
                raise CronError(f"{spec.name} field {text!r}: range {base!r} runs backwards; write it low-high")
        else:
            low = _value(base, text, spec)
            high = spec.high if slash else low  # `5/10`: from 5 to the field's end
        values.update(range(low, high + 1, step))
    return tuple(sorted(values))


def _value(token: str, text: str, spec: _Field) -> int:
    if token.lower() in spec.names:
        return spec.names[token.lower()]
    if not token.isdigit() or not token.isascii():
        raise CronError(f"{spec.name} field {text!r}: {token!r} is not a value; allowed: {spec.allowed()}")
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name} field {text!r}: {value} is out of range {spec.allowed()}")
    return value


def _step(token: str, text: str, spec: _Field) -> int:
    widest = spec.high - spec.low
    if not token.isdigit() or not token.isascii() or not 1 <= int(token) <= widest:
        raise CronError(f"{spec.name} field {text!r}: step {token!r} must be a number in range 1-{widest}")
    return int(token)


def next_fire(spec: Spec, after: datetime) -> datetime:
    """The first slot strictly after `after`, in UTC."""
    if after.tzinfo is None:
        raise ValueError("`after` must carry a time zone")
    if isinstance(spec, Period):
        step = timedelta(seconds=spec.seconds)
        k = max(1, (after - spec.anchor) // step + 1)
        return (spec.anchor + k * step).astimezone(UTC)
    wall = after.astimezone(spec.zone).replace(tzinfo=None, second=0, microsecond=0, fold=0) + _MINUTE
    while True:
        wall = _next_wall_time(spec, wall)
        instant = _first_instant(wall, spec.zone)
        # Skipped wall times give None; a repeated one's later pass maps to an instant already past.
        if instant is not None and instant > after:
            return instant
        wall += _MINUTE


def upcoming(spec: Spec, first: datetime, count: int) -> list[datetime]:
    """`first` (a slot) and the slots after it: `count` in all."""
    slots = [first.astimezone(UTC)]
    while len(slots) < count:
        slots.append(next_fire(spec, slots[-1]))
    return slots[:count]


def _next_wall_time(cron: Cron, wall: datetime) -> datetime:
    """The first local wall-clock minute at or after `wall` that the fields allow."""
    last_year = wall.year + _SEARCH_YEARS
    while wall.year <= last_year:
        if wall.month not in cron.months:
            wall = datetime(wall.year + wall.month // 12, wall.month % 12 + 1, 1)
        elif not cron.matches_day(wall.date()):
            wall = datetime.combine(wall.date() + timedelta(days=1), time())
        else:
            minute = next((m for m in cron.minutes if m >= wall.minute), None)
            if wall.hour in cron.hours and minute is not None:
                return wall.replace(minute=minute)
            wall = wall.replace(minute=0) + timedelta(hours=1)
    raise CronError(f"{cron.expression!r} does not fire within {_SEARCH_YEARS} years")


def _first_instant(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The first UTC instant local clocks show `wall`, or None when they skip it."""
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return instant
