"""How big the load and fault tests run: CI-sized unless `SKIFF_TEST_SCALE` asks for more.

TESTPLAN's cases are CI-sized so that `make test` stays within CI's budget; a nightly run
(`make test-nightly`, SKIFF_TEST_SCALE=10) multiplies their calls, clients' work, fault rounds and
repetitions by the factor, and runs the L5 soak for half an hour instead of under a minute. Every
test that scales reads the factor here, so one setting sizes them all.
"""

from __future__ import annotations

import os

CI_SOAK_SECONDS = 45.0
# Per unit of scale beyond CI's: 30 minutes at the nightly factor of 10.
NIGHTLY_SOAK_SECONDS_PER_SCALE = 180.0


def _scale() -> int:
    raw = os.environ.get("SKIFF_TEST_SCALE", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"SKIFF_TEST_SCALE={raw!r}: expected a whole number of at least 1 (1 is CI's size)")
    return int(raw)


SCALE = _scale()
NIGHTLY = SCALE > 1


def scaled(count: int) -> int:
    """`count` (a number of calls, clients' calls, rounds or seconds) at this run's scale."""
    return count * SCALE


def soak_seconds() -> float:
    """How long the L5 soak drives traffic: long enough in nightly mode for a slow leak to show."""
    return NIGHTLY_SOAK_SECONDS_PER_SCALE * SCALE if NIGHTLY else CI_SOAK_SECONDS
