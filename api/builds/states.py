"""The states of an environment build, and every change between them in one table."""

from __future__ import annotations

from enum import StrEnum


class BuildState(StrEnum):
    PENDING = "pending"  # asked for, not started yet (and maybe not placed on a node yet)
    BUILDING = "building"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


OPEN = frozenset({BuildState.PENDING, BuildState.BUILDING})

TRANSITIONS: dict[BuildState, frozenset[BuildState]] = {
    # An agent that finds the environment built already reports the end without a start.
    BuildState.PENDING: frozenset({BuildState.BUILDING, BuildState.SUCCEEDED, BuildState.FAILED}),
    # Back to pending: the node went away or restarted mid-build, so the request is placed again.
    BuildState.BUILDING: frozenset({BuildState.SUCCEEDED, BuildState.FAILED, BuildState.PENDING}),
    # Terminal: a late or repeated report changes nothing.
    BuildState.SUCCEEDED: frozenset(),
    BuildState.FAILED: frozenset(),
}


def sources_of(target: BuildState) -> list[str]:
    """The states a build may move to `target` from, as stored (for a conditional UPDATE)."""
    return sorted(state.value for state, targets in TRANSITIONS.items() if target in targets)
