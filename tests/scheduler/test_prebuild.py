"""Which environments are built ahead of the first call, and where; and which requests on their
way are placed again or failed: tables of cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.placement import NodeSnapshot, Request
from scheduler.prebuild import (
    MAX_DELIVERIES,
    RESULT_WITHIN,
    START_WITHIN,
    BuildPlan,
    NodeLife,
    OpenBuild,
    Overdue,
    needs_build,
    overdue,
    plan_builds,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

SMALL = NodeSnapshot(id="small", cpu_free=2, memory_free_mib=4096, cpu_total=2)
BIG = NodeSnapshot(id="big", cpu_free=32, memory_free_mib=65536, cpu_total=32)
GPU = NodeSnapshot(id="gpu", cpu_free=16, memory_free_mib=131072, gpus_free={"H100": 2}, cpu_total=16)
HOLDS_IMG = NodeSnapshot(id="holds", cpu_free=32, memory_free_mib=65536, cpu_total=32, cached_images=frozenset({"img"}))
SMALL_HOLDS_IMG = replace(SMALL, id="small-holds", cached_images=frozenset({"img"}))
EU = NodeSnapshot(id="eu", cpu_free=8, memory_free_mib=8192, labels={"zone": "eu"}, cpu_total=8)


def wants(function_id: str, image_key: str = "img", **shape: Any) -> Request:
    return Request(
        cpu=shape.get("cpu", 1.0),
        memory_mib=shape.get("memory_mib", 1024),
        gpus=shape.get("gpus", ()),
        labels=shape.get("labels", {}),
        image_key=image_key,
        function_id=function_id,
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, False),
        ({"image": {}}, False),
        ({"image": {"python": "3.11", "requirements": []}}, False),
        ({"image": {"base": "torch"}}, False),
        ({"image": {"python": "3.11", "requirements": ["numpy"]}}, True),
        ({"image": {"base": "torch", "requirements": ["pillow>=10"]}}, True),
    ],
)
def test_only_environments_with_requirements_are_built(spec: Mapping[str, Any], expected: bool) -> None:
    assert needs_build(spec) is expected


@pytest.mark.parametrize(
    ("wanted", "nodes", "building", "expected"),
    [
        # nothing wanted, or no node at all: the request waits for one
        ([], [BIG], {}, BuildPlan()),
        ([wants("f")], [], {}, BuildPlan(waiting=("f",))),
        # a node holding the environment and able to run the function: nothing to build
        ([wants("f")], [BIG, HOLDS_IMG], {}, BuildPlan(cached={"f": "holds"})),
        # one holding it but unable to run the function does not count: a node that can builds it
        ([wants("f", cpu=4)], [SMALL_HOLDS_IMG, BIG], {}, BuildPlan(build={"f": "big"})),
        # feasibility is placement's: too big, wrong GPU, wrong labels wait
        ([wants("f", cpu=64)], [SMALL, BIG], {}, BuildPlan(waiting=("f",))),
        ([wants("f", gpus=(("H100", 1),))], [BIG, GPU], {}, BuildPlan(build={"f": "gpu"})),
        ([wants("f", gpus=(("A100", 1),))], [BIG, GPU], {}, BuildPlan(waiting=("f",))),
        ([wants("f", labels={"zone": "eu"})], [BIG, EU], {}, BuildPlan(build={"f": "eu"})),
        # the node placement would choose builds it (CPU work avoids the GPU node)
        ([wants("f")], [GPU, BIG], {}, BuildPlan(build={"f": "big"})),
        # two functions of one environment: one node builds it for both
        ([wants("g"), wants("f")], [SMALL, BIG], {}, BuildPlan(build={"f": "small", "g": "small"})),
        # a node already asked to build the environment serves a new request too
        ([wants("f")], [SMALL, BIG], {"big": frozenset({"img"})}, BuildPlan(build={"f": "big"})),
        # ... unless it cannot run the function
        ([wants("f", cpu=4)], [SMALL, BIG], {"small": frozenset({"img"})}, BuildPlan(build={"f": "big"})),
        # different environments are planned each on its own
        (
            [wants("f", "img"), wants("g", "other"), wants("h", "img", cpu=64)],
            [HOLDS_IMG, SMALL],
            {},
            BuildPlan(build={"g": "small"}, cached={"f": "holds"}, waiting=("h",)),
        ),
    ],
)
def test_plan_builds(
    wanted: list[Request], nodes: list[NodeSnapshot], building: dict[str, frozenset[str]], expected: BuildPlan
) -> None:
    assert plan_builds(wanted, nodes, building) == expected


READY = NodeLife(ready=True, epoch=3)


def handed(build_id: str, *, seconds_ago: float, epoch: int = 3, deliveries: int = 1) -> OpenBuild:
    return OpenBuild(
        id=build_id,
        node_id="n",
        building=False,
        delivered_at=NOW - timedelta(seconds=seconds_ago),
        node_epoch=epoch,
        deliveries=deliveries,
    )


def started(build_id: str, *, seconds_ago: float, epoch: int = 3) -> OpenBuild:
    delivered = NOW - timedelta(seconds=seconds_ago + 1)
    return OpenBuild(
        id=build_id,
        node_id="n",
        building=True,
        delivered_at=delivered,
        node_epoch=epoch,
        started_at=NOW - timedelta(seconds=seconds_ago),
        deliveries=1,
    )


LATE = START_WITHIN.total_seconds() + 1
STUCK = RESULT_WITHIN.total_seconds() + 1


@pytest.mark.parametrize(
    ("builds", "nodes", "expected"),
    [
        # on their way, in time
        ([OpenBuild(id="b", node_id="n", building=False)], {"n": READY}, Overdue()),
        ([handed("b", seconds_ago=5)], {"n": READY}, Overdue()),
        ([started("b", seconds_ago=600)], {"n": READY}, Overdue()),
        # the node is gone, down or draining: placed again, handed out or not, started or not
        ([OpenBuild(id="b", node_id="n", building=False)], {}, Overdue(replace=("b",))),
        ([handed("b", seconds_ago=5)], {"n": NodeLife(ready=False, epoch=3)}, Overdue(replace=("b",))),
        ([started("b", seconds_ago=5)], {"n": NodeLife(ready=False, epoch=3)}, Overdue(replace=("b",))),
        # its agent restarted since the poll that took it: that agent forgot it
        ([handed("b", seconds_ago=5, epoch=2)], {"n": READY}, Overdue(replace=("b",))),
        ([started("b", seconds_ago=5, epoch=2)], {"n": READY}, Overdue(replace=("b",))),
        # handed out but never started: the answer was lost on the way
        ([handed("b", seconds_ago=LATE)], {"n": READY}, Overdue(replace=("b",))),
        # ... and after too many tries, it fails saying why
        (
            [handed("b", seconds_ago=LATE, deliveries=MAX_DELIVERIES)],
            {"n": READY},
            Overdue(fail={"b": "handed to nodes 3 times (at most 3) and its node did not start it within 60 s"}),
        ),
        # started, and no result long after any build would have ended
        (
            [started("b", seconds_ago=STUCK)],
            {"n": READY},
            Overdue(fail={"b": "no result from the node within 1200 s of the start"}),
        ),
    ],
)
def test_overdue(builds: list[OpenBuild], nodes: dict[str, NodeLife], expected: Overdue) -> None:
    assert overdue(builds, nodes, NOW) == expected
