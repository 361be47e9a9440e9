"""Call states and every allowed change between them, in one table. Terminal states never change."""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    # Claimed by a container; cancelled by the user; failed when it can never run (e.g. its deployment is gone).
    CallStatus.QUEUED: frozenset({CallStatus.RUNNING, CallStatus.CANCELLED, CallStatus.FAILED}),
    # An outcome; or back to queued when the attempt is lost (agent died, lease expired) or retried.
    CallStatus.RUNNING: frozenset(
        {
            CallStatus.SUCCEEDED,
            CallStatus.FAILED,
            CallStatus.TIMED_OUT,
            CallStatus.CANCELLED,
            CallStatus.QUEUED,
        }
    ),
    CallStatus.SUCCEEDED: frozenset(),
    CallStatus.FAILED: frozenset(),
    CallStatus.TIMED_OUT: frozenset(),
    CallStatus.CANCELLED: frozenset(),
}

TERMINAL = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)


def can_move(current: CallStatus, target: CallStatus) -> bool:
    return target in TRANSITIONS[current]


def sources_of(target: CallStatus) -> tuple[str, ...]:
    """The states a conditional UPDATE may move a call from (for `WHERE status IN (...)`)."""
    return tuple(sorted(status.value for status, nexts in TRANSITIONS.items() if target in nexts))
