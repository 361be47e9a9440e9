"""How many containers a function needs, and which idle ones may go. Pure: `now` is passed in.

Desired = clamp(ceil((queued + running) / max_inputs) + buffer, min, max) — Modal's knobs.
Only idle containers are stopped, longest idle first, and only after `scaledown_window`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ScalingPolicy:
    min_containers: int = 0
    max_containers: int = 8
    buffer_containers: int = 0
    max_inputs: int = 1
    scaledown_window: float = 60.0


@dataclass(frozen=True)
class LiveContainer:
    id: str
    busy: bool
    # When it last finished an input (or became ready); None while starting.
    idle_since: datetime | None
    starting: bool = False


@dataclass(frozen=True)
class ScalePlan:
    start: int
    stop: tuple[str, ...]


def desired_containers(queued: int, running: int, policy: ScalingPolicy) -> int:
    wanted = math.ceil((queued + running) / policy.max_inputs) + policy.buffer_containers
    return max(policy.min_containers, min(policy.max_containers, wanted))


def plan_scale(
    queued: int, running: int, live: Sequence[LiveContainer], policy: ScalingPolicy, now: datetime
) -> ScalePlan:
    desired = desired_containers(queued, running, policy)
    if len(live) < desired:
        return ScalePlan(start=desired - len(live), stop=())
    surplus = len(live) - desired
    window = timedelta(seconds=policy.scaledown_window)
    idle = sorted(
        (
            c
            for c in live
            if not c.busy and not c.starting and c.idle_since is not None and now - c.idle_since >= window
        ),
        key=lambda c: (c.idle_since, c.id),
    )
    return ScalePlan(start=0, stop=tuple(c.id for c in idle[:surplus]))
