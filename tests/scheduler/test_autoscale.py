"""The autoscaling decision, as a table of cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.autoscale import LiveContainer, ScalePlan, ScalingPolicy, desired_containers, plan_scale, why_capped

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def idle(cid: str, seconds: float) -> LiveContainer:
    return LiveContainer(id=cid, busy=False, idle_since=NOW - timedelta(seconds=seconds))


def busy(cid: str) -> LiveContainer:
    return LiveContainer(id=cid, busy=True, idle_since=None)


def sleepy(cid: str, seconds: float) -> LiveContainer:
    """Idle, on a node that keeps its function's zygote warm: it may sleep."""
    return replace(idle(cid, seconds), may_sleep=True)


def asleep(cid: str, *, may_sleep: bool = True) -> LiveContainer:
    return replace(idle(cid, 600), asleep=True, may_sleep=may_sleep)


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


SLEEP_WINDOW = ScalingPolicy(scaledown_window=60)


@pytest.mark.parametrize(
    ("queued", "live", "policy", "plan"),
    [
        # the last one past its window sleeps rather than stops
        (0, [sleepy("a", 61)], SLEEP_WINDOW, ScalePlan(0, (), sleep=("a",))),
        # of several, the others stop and the one idle the shortest sleeps
        (0, [sleepy("a", 120), sleepy("b", 61)], SLEEP_WINDOW, ScalePlan(0, ("a",), sleep=("b",))),
        # one that may not sleep (no warm zygote on its node, a GPU, an old version) stops as before
        (0, [idle("a", 61)], SLEEP_WINDOW, ScalePlan(0, ("a",))),
        # inside its window it stays awake
        (0, [sleepy("a", 30)], SLEEP_WINDOW, ScalePlan(0, ())),
        # one asleep already: it stays, and no second one sleeps
        (0, [asleep("z")], SLEEP_WINDOW, ScalePlan(0, ())),
        (0, [asleep("z"), sleepy("a", 61)], SLEEP_WINDOW, ScalePlan(0, ("a",))),
        # an asleep one serves the function: a call wakes it, and nothing starts
        (1, [asleep("z")], SLEEP_WINDOW, ScalePlan(0, ())),
        (2, [asleep("z")], SLEEP_WINDOW, ScalePlan(1, ())),
        # one that may no longer sleep (its zygote was reclaimed) goes, whatever its window
        (0, [asleep("z", may_sleep=False)], SLEEP_WINDOW, ScalePlan(0, ("z",))),
        # ...unless it is needed: then its next input starts it
        (1, [asleep("z", may_sleep=False)], SLEEP_WINDOW, ScalePlan(0, ())),
        # min_containers keeps one awake: nothing sleeps
        (0, [sleepy("a", 300), sleepy("b", 200)], ScalingPolicy(min_containers=1), ScalePlan(0, ("a",))),
    ],
)
def test_the_last_container_sleeps_when_its_zygote_is_warm(
    queued: int, live: list[LiveContainer], policy: ScalingPolicy, plan: ScalePlan
) -> None:
    assert plan_scale(queued, 0, live, policy, NOW) == plan


TURN = "its calls wait their turn"


@pytest.mark.parametrize(
    ("queued", "running", "max_containers", "max_inputs", "why"),
    [
        (0, 9, 2, 1, None),  # nothing waits
        (1, 1, 2, 1, None),  # its second container takes it
        (1, 2, 2, 1, "it has at most 2 containers (max_containers): its calls wait their turn"),
        (2, 6, 2, 4, None),  # room for 8 at once
        (2, 0, 1, 1, "it has at most 1 container (max_containers): its calls wait their turn"),
        (3, 6, 2, 4, "it has at most 2 containers (max_containers), each running 4 at once (max_inputs): " + TURN),
    ],
)
def test_calls_beyond_what_its_max_containers_can_run_at_once_say_they_wait_their_turn(
    queued: int, running: int, max_containers: int, max_inputs: int, why: str | None
) -> None:
    assert why_capped(queued, running, ScalingPolicy(max_containers=max_containers, max_inputs=max_inputs)) == why
