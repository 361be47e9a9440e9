"""Which failed attempts run again, and after how long: exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from api.execution.schemas import Outcome


def should_retry(outcome: Outcome, attempt: int, max_attempts: int, policy: Mapping[str, Any]) -> bool:
    """Crashes always retry while attempts remain; user errors only when the policy says so."""
    if attempt >= max_attempts:
        return False
    if outcome is Outcome.CRASHED:
        return True
    if outcome is Outcome.FAILED:
        return bool(policy.get("retry_on_user_error", True))
    return False


def retry_delay(attempt: int, policy: Mapping[str, Any], rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempt + 1`: uniform in [0, min(max_delay, initial * coefficient^(attempt-1))]."""
    initial = float(policy.get("initial_delay", 1.0))
    coefficient = float(policy.get("backoff_coefficient", 2.0))
    ceiling = min(float(policy.get("max_delay", 60.0)), initial * coefficient ** max(attempt - 1, 0))
    return (rng or random).uniform(0, ceiling)
