"""Jumps of the database's wall clock, told apart from time passing by the scheduler's monotonic clock.

Leases and heartbeats are judged by Postgres `now()`. When that clock steps (an NTP correction, a
database host resumed from suspend), every lease would seem to have run out at once, or to last far
longer than it should, though no agent missed a renewal. Each tick the scheduler reads both clocks;
a step beyond the tolerance is the jump by which the leader shifts the deadlines it judges, so that
each keeps the real time it had left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Larger than a reading's uncertainty, smaller than any lease or heartbeat timeout.
JUMP_TOLERANCE = timedelta(seconds=1)


@dataclass(frozen=True)
class Reading:
    """Both clocks at one instant: `monotonic` is the midpoint of the round trip that read `database`,
    and `uncertainty` half that round trip."""

    monotonic: float
    database: datetime
    uncertainty: float


def jump(previous: Reading | None, current: Reading, tolerance: timedelta = JUMP_TOLERANCE) -> timedelta:
    """How far the database's clock moved beyond (or short of) the time that passed; zero within the
    tolerance, on the first reading, and when a round trip was too slow to tell."""
    if previous is None or previous.uncertainty + current.uncertainty >= tolerance.total_seconds() / 2:
        return timedelta(0)
    passed = timedelta(seconds=current.monotonic - previous.monotonic)
    moved = current.database - previous.database
    step = moved - passed
    return step if abs(step) > tolerance else timedelta(0)
