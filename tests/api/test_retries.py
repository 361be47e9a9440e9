"""Which failed attempts run again, and after how long."""

from __future__ import annotations

import random

import pytest

from api.calls.retries import max_attempts, retry_delay, should_retry
from api.execution.schemas import Outcome

NO_RETRIES = {"max_retries": 0}
TWO_RETRIES = {"max_retries": 2, "retry_on_user_error": True}
NOT_ON_USER_ERRORS = {"max_retries": 2, "retry_on_user_error": False}


@pytest.mark.parametrize(
    ("outcome", "attempt", "policy", "retry"),
    [
        (Outcome.CRASHED, 1, NO_RETRIES, True),  # lost attempts may use the extra allowance
        (Outcome.CRASHED, 3, NO_RETRIES, False),  # ... but no more than max_attempts
        (Outcome.FAILED, 1, NO_RETRIES, False),  # user errors only within the function's retries
        (Outcome.FAILED, 1, TWO_RETRIES, True),
        (Outcome.FAILED, 3, TWO_RETRIES, False),
        (Outcome.FAILED, 1, NOT_ON_USER_ERRORS, False),
        (Outcome.TIMED_OUT, 1, TWO_RETRIES, False),
        (Outcome.SUCCEEDED, 1, TWO_RETRIES, False),
    ],
)
def test_should_retry(outcome: Outcome, attempt: int, policy: dict[str, object], retry: bool) -> None:
    assert should_retry(outcome, attempt, max_attempts(policy, 2), policy) is retry


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap() -> None:
    policy = {"initial_delay": 1.0, "backoff_coefficient": 2.0, "max_delay": 5.0}
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [retry_delay(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.9  # the whole range is used, not a fixed delay
