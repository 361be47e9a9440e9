"""Cron and period slots (`api.schedules.cron`) and the firing policy (`scheduler.cron`), as tables.

Expected times are written in UTC and worked out by hand from the zones' rules: Berlin springs
forward 2024-03-31 at 01:00Z (02:00 CET → 03:00 CEST) and falls back 2024-10-27 at 01:00Z (03:00
CEST → 02:00 CET); New York springs forward 2024-03-10 at 07:00Z and falls back 2024-11-03 at 06:00Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.schedules.cron import (
    CronError,
    Period,
    PeriodError,
    Spec,
    TimezoneError,
    next_fire,
    parse_cron,
    upcoming,
    zone,
)
from scheduler.cron import FirePlan, plan_fire


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, timezone: str, after: str, count: int) -> list[datetime]:
    cron, moment, found = parse_cron(expression, timezone), utc(after), []
    for _ in range(count):
        moment = next_fire(cron, moment)
        found.append(moment)
    return found


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        # steps, ranges, lists, strictly after
        ("*/15 * * * *", "UTC", "2024-01-01 10:07:30", ["2024-01-01 10:15", "2024-01-01 10:30"]),
        ("*/15 * * * *", "UTC", "2024-01-01 10:15:00", ["2024-01-01 10:30"]),
        ("10-50/10 * * * *", "UTC", "2024-01-01 10:50:00", ["2024-01-01 11:10", "2024-01-01 11:20"]),
        ("5/20 * * * *", "UTC", "2024-01-01 10:00:00", ["2024-01-01 10:05", "2024-01-01 10:25", "2024-01-01 10:45"]),
        ("0 8,12,18 * * *", "UTC", "2024-01-01 12:00:00", ["2024-01-01 18:00", "2024-01-02 08:00"]),
        ("59 23 31 12 *", "UTC", "2024-06-01 00:00:00", ["2024-12-31 23:59", "2025-12-31 23:59"]),
        # names, either case; Sunday as 0 or 7
        ("0 9 * * mon-fri", "UTC", "2024-01-05 09:00:00", ["2024-01-08 09:00", "2024-01-09 09:00"]),
        ("0 0 1 JAN-MAR *", "UTC", "2024-03-01 00:00:00", ["2025-01-01 00:00", "2025-02-01 00:00"]),
        ("0 0 * * 7", "UTC", "2024-01-01 00:00:00", ["2024-01-07 00:00"]),
        ("0 0 * * sun", "UTC", "2024-01-01 00:00:00", ["2024-01-07 00:00"]),
        # aliases
        ("@hourly", "UTC", "2024-01-01 10:00:01", ["2024-01-01 11:00"]),
        ("@daily", "UTC", "2024-12-31 23:59:59", ["2025-01-01 00:00"]),
        ("@weekly", "UTC", "2024-01-01 00:00:00", ["2024-01-07 00:00"]),
        ("@monthly", "UTC", "2024-01-31 12:00:00", ["2024-02-01 00:00"]),
        ("@yearly", "UTC", "2024-01-01 00:00:00", ["2025-01-01 00:00"]),
        (" @Daily ", "UTC", "2024-01-01 00:00:00", ["2024-01-02 00:00"]),
        # leap years: 29 February, and 2100 is not a leap year
        ("0 0 29 2 *", "UTC", "2024-03-01 00:00:00", ["2028-02-29 00:00", "2032-02-29 00:00"]),
        ("0 0 29 2 *", "UTC", "2096-03-01 00:00:00", ["2104-02-29 00:00"]),
        ("0 0 29 * *", "UTC", "2023-01-30 00:00:00", ["2023-03-29 00:00"]),
        # the 30th and 31st skip the months without them; Feb 30 never matches
        ("0 0 30 * *", "UTC", "2024-01-30 00:00:00", ["2024-03-30 00:00"]),
        ("0 0 31 * *", "UTC", "2024-04-01 00:00:00", ["2024-05-31 00:00", "2024-07-31 00:00"]),
        # both day fields restricted: either one matches (Vixie cron's OR rule)
        ("0 0 13 * fri", "UTC", "2024-01-01 00:00:00", ["2024-01-05 00:00", "2024-01-12 00:00", "2024-01-13 00:00"]),
        ("0 0 30 2 mon", "UTC", "2024-02-01 00:00:00", ["2024-02-05 00:00"]),
        # a day field starting with `*` is unrestricted, so the two are ANDed: odd days that are Mondays
        ("0 0 */2 * mon", "UTC", "2024-01-01 00:00:00", ["2024-01-15 00:00", "2024-01-29 00:00"]),
        # wall-clock times keep their local hour across DST
        ("0 12 * * *", "America/New_York", "2024-03-09 18:00:00", ["2024-03-10 16:00"]),
        # spring forward: 02:30 does not exist on the day, so it is skipped
        ("30 2 * * *", "Europe/Berlin", "2024-03-30 12:00:00", ["2024-04-01 00:30"]),
        ("30 2 * * *", "America/New_York", "2024-03-09 12:00:00", ["2024-03-11 06:30"]),
        ("0 * * * *", "Europe/Berlin", "2024-03-30 23:30:00", ["2024-03-31 00:00", "2024-03-31 01:00"]),
        # fall back: 02:30 happens twice in Berlin and fires once, at the first (CEST) occurrence
        ("30 2 * * *", "Europe/Berlin", "2024-10-26 12:00:00", ["2024-10-27 00:30", "2024-10-28 01:30"]),
        ("0 * * * *", "Europe/Berlin", "2024-10-26 23:30:00", ["2024-10-27 00:00", "2024-10-27 02:00"]),
        ("30 1 * * *", "America/New_York", "2024-11-02 12:00:00", ["2024-11-03 05:30", "2024-11-04 06:30"]),
        # from inside the repeated hour, its first pass is already behind
        ("45 2 * * *", "Europe/Berlin", "2024-10-27 01:15:00", ["2024-10-28 01:45"]),
    ],
)
def test_next_fire(expression: str, timezone: str, after: str, expected: list[str]) -> None:
    assert fires(expression, timezone, after, len(expected)) == [utc(e) for e in expected]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field '61': 61 is out of range 0-59"),
        ("* 24 * * *", "hour field '24': 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month field '0': 0 is out of range 1-31"),
        ("* * 32 * *", "day-of-month field '32': 32 is out of range 1-31"),
        ("* * * 13 *", "month field '13': 13 is out of range 1-12, or jan-dec"),
        ("* * * * 8", "day-of-week field '8': 8 is out of range 0-7, or sun-sat"),
        ("* * * foo *", "month field 'foo': 'foo' is not a value; allowed: 1-12, or jan-dec"),
        ("mon * * * *", "minute field 'mon': 'mon' is not a value; allowed: 0-59"),
        ("¹ * * * *", "minute field '¹': '¹' is not a value"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a number in range 1-59"),
        ("* */25 * * *", "hour field '*/25': step '25' must be a number in range 1-23"),
        ("5-1 * * * *", "minute field '5-1': range '5-1' runs backwards; write it low-high"),
        ("1-* * * * *", "minute field '1-*': '*' is not a value"),
        ("1,,2 * * * *", "minute field '1,,2': a list has an empty item"),
        ("* * * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("* * * * * *", "got 6"),
        ("", "got 0"),
        ("@reboot", "unknown alias '@reboot'; known: @yearly"),
        ("0 0 30 2 *", "day-of-month field '30': no such day in feb, so the expression never fires"),
        ("0 0 31 4,6,9,11 *", "no such day in apr, jun, sep, nov"),
        ("* " * 100, "at most 128 characters"),
    ],
)
def test_invalid_expressions_name_the_field_and_the_allowed_range(expression: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "/etc/passwd", "utc+2"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(TimezoneError, match="IANA name such as UTC"):
        zone(name)


ANCHOR = utc("2024-01-01 00:00:00")


@pytest.mark.parametrize(
    ("seconds", "after", "expected"),
    [
        (300, "2024-01-01 00:00:00", "2024-01-01 00:05:00"),
        (300, "2024-01-01 00:05:00", "2024-01-01 00:10:00"),
        (300, "2024-01-01 00:07:30", "2024-01-01 00:10:00"),
        (300, "2023-12-31 12:00:00", "2024-01-01 00:05:00"),
        (90, "2024-01-01 01:00:00", "2024-01-01 01:01:30"),
        # periods count real seconds: DST does not move them
        (3600, "2024-03-31 00:30:00", "2024-03-31 01:00:00"),
    ],
)
def test_periods_count_from_their_anchor(seconds: int, after: str, expected: str) -> None:
    assert next_fire(Period(seconds, ANCHOR), utc(after)) == utc(expected)


def test_periods_and_times_are_checked() -> None:
    with pytest.raises(PeriodError, match="59 seconds is out of range 60-"):
        Period(59, ANCHOR)
    with pytest.raises(PeriodError, match="time zone"):
        Period(60, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        next_fire(parse_cron("* * * * *"), datetime(2024, 1, 1))


def test_upcoming_starts_at_the_given_slot() -> None:
    cron = parse_cron("0 9 * * *", "Europe/Berlin")
    assert upcoming(cron, utc("2024-03-30 08:00:00"), 3) == [
        utc("2024-03-30 08:00"),
        utc("2024-03-31 07:00"),
        utc("2024-04-01 07:00"),
    ]


T = utc("2024-01-01 10:00:00")
MINUTELY = parse_cron("* * * * *")
HOURLY = parse_cron("0 * * * *")
FIVE_MINUTES = Period(300, ANCHOR)
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


@pytest.mark.parametrize(
    ("spec", "next_fire_at", "now", "grace", "expected"),
    [
        # not due yet
        (MINUTELY, T + M, T, M, FirePlan(None, T + M)),
        # due: on time, or a little late
        (MINUTELY, T, T, M, FirePlan(T, T + M)),
        (MINUTELY, T, T + 30 * S, M, FirePlan(T, T + M)),
        # several missed: one fire, for the latest, which is within grace
        (MINUTELY, T, T + 5 * M + 10 * S, M, FirePlan(T + 5 * M, T + 6 * M)),
        (HOURLY, T, T + 2 * H + 45 * S, M, FirePlan(T + 2 * H, T + 3 * H)),
        # the latest missed slot is older than grace: nothing fires, the next slot is in the future
        (HOURLY, T, T + 2 * H + 30 * M, M, FirePlan(None, T + 3 * H)),
        # the grace boundary is inclusive; a custom grace widens it; zero grace fires only on time
        (HOURLY, T, T + 60 * S, M, FirePlan(T, T + H)),
        (HOURLY, T, T + 61 * S, M, FirePlan(None, T + H)),
        (HOURLY, T, T + 5 * M, 10 * M, FirePlan(T, T + H)),
        (HOURLY, T, T, timedelta(0), FirePlan(T, T + H)),
        (HOURLY, T, T + S, timedelta(0), FirePlan(None, T + H)),
        # periods too
        (FIVE_MINUTES, T, T + 12 * M + 30 * S, M, FirePlan(None, T + 15 * M)),
        (FIVE_MINUTES, T, T + 10 * M + 20 * S, M, FirePlan(T + 10 * M, T + 15 * M)),
        # a month down: still one fire, found without walking 43,200 missed minutes
        (MINUTELY, T, T + timedelta(days=30) + 5 * S, M, FirePlan(T + timedelta(days=30), T + timedelta(days=30) + M)),
    ],
)
def test_firing_policy(spec: Spec, next_fire_at: datetime, now: datetime, grace: timedelta, expected: FirePlan) -> None:
    assert plan_fire(spec, next_fire_at, now, grace) == expected


def test_ticking_through_time_fires_each_slot_once() -> None:
    """A scheduler ticking every 7 s fires every minute exactly once, and never the same slot twice."""
    fired: list[datetime] = []
    next_fire_at = next_fire(MINUTELY, T)
    for tick in range(0, 600, 7):
        plan = plan_fire(MINUTELY, next_fire_at, T + tick * S)
        if plan.slot is not None:
            fired.append(plan.slot)
        next_fire_at = plan.next_fire_at
    assert fired == [T + k * M for k in range(1, 10)]
