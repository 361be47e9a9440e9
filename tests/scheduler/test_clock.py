"""Telling a step of the database's clock from time passing (scheduler.clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.clock import Reading, jump

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def reading(monotonic: float, database_seconds: float, uncertainty: float = 0.001) -> Reading:
    return Reading(monotonic, T0 + timedelta(seconds=database_seconds), uncertainty)


@pytest.mark.parametrize(
    ("previous", "current", "expected_seconds"),
    [
        (None, reading(100.0, 0.0), 0.0),  # the first reading has nothing to compare with
        (reading(100.0, 0.0), reading(101.0, 1.0), 0.0),  # a tick: both moved alike
        (reading(100.0, 0.0), reading(130.0, 30.0), 0.0),  # a slow tick (a pause, a busy machine)
        (reading(100.0, 0.0), reading(101.0, 1.9), 0.0),  # drift within the tolerance
        (reading(100.0, 0.0), reading(101.0, 61.0), 60.0),  # stepped forward a minute
        (reading(100.0, 0.0), reading(101.0, -59.0), -60.0),  # stepped back a minute
        (reading(100.0, 0.0), reading(160.0, 3660.0), 3600.0),  # an hour's step during a slow tick
        (reading(100.0, 0.0, 0.2), reading(101.0, 61.0, 0.4), 0.0),  # round trips too slow to tell
    ],
)
def test_a_step_of_the_database_clock_is_told_from_time_passing(
    previous: Reading | None, current: Reading, expected_seconds: float
) -> None:
    assert jump(previous, current) == timedelta(seconds=expected_seconds)
