"""The autoscaling decision, as a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.autoscale import LiveContainer, ScalePlan, ScalingPolicy, desired_containers, plan_scale

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def idle(cid: str, seconds: float) -> LiveContainer:
    return LiveContainer(id=cid, busy=False, idle_since=NOW - timedelta(seconds=seconds))


def busy(cid: str) -> LiveContainer:
    return LiveContainer(id=cid, busy=True, idle_since=None)


@pytest.mark.parametrize(
    ("queued", "running", "policy", "desired"),
    [
        (0, 0, ScalingPolicy(), 0),
        (1, 0, ScalingPolicy(), 1),
        (5, 3, ScalingPolicy(), 8),
        (50, 0, ScalingPolicy(max_containers=8), 8),
        (0, 0, ScalingPolicy(min_containers=2), 2),
        (3, 0, ScalingPolicy(max_inputs=4), 1),
        (5, 0, ScalingPolicy(max_inputs=4), 2),
        (1, 0, ScalingPolicy(buffer_containers=2), 3),
        (0, 0, ScalingPolicy(buffer_containers=2), 2),
        (100, 0, ScalingPolicy(buffer_containers=2, max_containers=4), 4),
    ],
)
def test_desired_containers(queued: int, running: int, policy: ScalingPolicy, desired: int) -> None:
    assert desired_containers(queued, running, policy) == desired


@pytest.mark.parametrize(
    ("queued", "running", "live", "policy", "plan"),
    [
        (3, 0, [], ScalingPolicy(), ScalePlan(start=3, stop=())),
        (3, 0, [busy("a")], ScalingPolicy(), ScalePlan(start=2, stop=())),
        # idle past the window and not needed: stopped, longest idle first
        (0, 0, [idle("a", 61), idle("b", 120)], ScalingPolicy(scaledown_window=60), ScalePlan(0, ("b", "a"))),
        # idle but inside the window: kept
        (0, 0, [idle("a", 30)], ScalingPolicy(scaledown_window=60), ScalePlan(0, ())),
        # min_containers keeps the longest-lived idle one running
        (0, 0, [idle("a", 300), idle("b", 200)], ScalingPolicy(min_containers=1), ScalePlan(0, ("a",))),
        # busy containers are never stopped, even beyond max
        (0, 2, [busy("a"), busy("b")], ScalingPolicy(max_containers=1), ScalePlan(0, ())),
        # a starting container counts as live and is not stopped
        (
            1,
            0,
            [LiveContainer("s", busy=False, idle_since=None, starting=True)],
            ScalingPolicy(),
            ScalePlan(0, ()),
        ),
        (
            0,
            0,
            [LiveContainer("s", busy=False, idle_since=None, starting=True)],
            ScalingPolicy(),
            ScalePlan(0, ()),
        ),
    ],
)
def test_plan_scale(
    queued: int, running: int, live: list[LiveContainer], policy: ScalingPolicy, plan: ScalePlan
) -> None:
    assert plan_scale(queued, running, live, policy, NOW) == plan
