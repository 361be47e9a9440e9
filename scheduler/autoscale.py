"""How many containers a function needs, and which idle ones may go. Pure: `now` is passed in.

Desired = clamp(ceil((queued + running) / max_inputs) + buffer, min, max) — Modal's knobs.
Only idle containers are stopped, longest idle first, and only after `scaledown_window`.

When that would stop a function's last container and the container may sleep (its node keeps the
function's zygote warm), it sleeps instead: its process exits as a stopped one's would, but it stays
placed, so its next input forks a process on the node without waiting for a placement. An asleep
container counts as one that serves the function; it goes when it may no longer sleep (its zygote was
reclaimed, its version is no longer current), or when another function needs its room.
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
    asleep: bool = False
    may_sleep: bool = False  # its function and node allow it (see the module's docstring)


@dataclass(frozen=True)
class ScalePlan:
    start: int
    stop: tuple[str, ...]
    sleep: tuple[str, ...] = ()


def needed(queued: int, running: int, policy: ScalingPolicy) -> int:
    """Containers enough to run every call at once, before the policy's buffer and bounds."""
    return math.ceil((queued + running) / policy.max_inputs)


def desired_containers(queued: int, running: int, policy: ScalingPolicy) -> int:
    wanted = needed(queued, running, policy) + policy.buffer_containers
    return max(policy.min_containers, min(policy.max_containers, wanted))


def why_capped(queued: int, running: int, policy: ScalingPolicy) -> str | None:
    """Why queued calls wait when the function already has all the containers it may: its calls need
    more than `max_containers` of them (each taking `max_inputs` at once); None when they do not."""
    if not queued or needed(queued, running, policy) <= policy.max_containers:
        return None
    each = f", each running {policy.max_inputs} at once (max_inputs)" if policy.max_inputs > 1 else ""
    most = f"{policy.max_containers} container{'s' if policy.max_containers != 1 else ''}"
    return f"it has at most {most} (max_containers){each}: its calls wait their turn"


def plan_scale(
    queued: int, running: int, live: Sequence[LiveContainer], policy: ScalingPolicy, now: datetime
) -> ScalePlan:
    desired = desired_containers(queued, running, policy)
    if len(live) < desired:
        return ScalePlan(start=desired - len(live), stop=())
    surplus = len(live) - desired
    window = timedelta(seconds=policy.scaledown_window)
    lapsed = sorted((c for c in live if c.asleep and not c.may_sleep), key=lambda c: c.id)
    idle = sorted(
        (
            c
            for c in live
            if not c.asleep
            and not c.busy
            and not c.starting
            and c.idle_since is not None
            and now - c.idle_since >= window
        ),
        key=lambda c: (c.idle_since, c.id),
    )
    going = [*lapsed, *idle][:surplus]
    if going and len(going) == len(live) and going[-1].may_sleep:  # one that may sleep is not asleep yet
        return ScalePlan(start=0, stop=tuple(c.id for c in going[:-1]), sleep=(going[-1].id,))
    return ScalePlan(start=0, stop=tuple(c.id for c in going))
