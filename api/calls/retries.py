"""Which failed attempts run again, and after how long: exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from api.execution.schemas import Outcome


def max_attempts(policy: Mapping[str, Any], lost_attempt_retries: int) -> int:
    """The function's own retries, plus a few more that only lost attempts and crashes may use:
    a node dying under a call is not the call's fault (Modal retries those too)."""
    return int(policy.get("max_retries", 0)) + 1 + lost_attempt_retries


def should_retry(outcome: Outcome, attempt: int, max_attempts: int, policy: Mapping[str, Any]) -> bool:
    """Crashes retry while any attempt remains; user errors only within the function's own retries."""
    if attempt >= max_attempts:
        return False
    if outcome is Outcome.CRASHED:
        return True
    if outcome is Outcome.FAILED:
        return bool(policy.get("retry_on_user_error", True)) and attempt <= int(policy.get("max_retries", 0))
    return False


def retry_delay(attempt: int, policy: Mapping[str, Any], rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempt + 1`: uniform in [0, min(max_delay, initial * coefficient^(attempt-1))]."""
    initial = float(policy.get("initial_delay", 1.0))
    coefficient = float(policy.get("backoff_coefficient", 2.0))
    ceiling = min(float(policy.get("max_delay", 60.0)), initial * coefficient ** max(attempt - 1, 0))
    return (rng or random).uniform(0, ceiling)
