"""Which environments are built ahead of their function's first call, and where. Pure.

A new version's function whose environment needs a build (it has requirements) is built on one
node ahead of its first call, so that a bad requirement shows at deploy and no call pays the build:

- a ready node that could run the function (placement's feasibility, judged on the node's whole
  capacity: a build reserves nothing) and holds the environment already: nothing to build;
- else a feasible node already asked to build the same environment: that build serves both;
- else the node placement would choose for the function builds it;
- no feasible node: the request waits for one.

Requests on their way are watched too (`overdue`): one whose node went away, restarted, or never
took it up is placed again, a few times at most; one whose result never came fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scheduler.placement import NodeSnapshot, Request, choose_node, feasible

# A request handed to a node that has not said it started within this was lost on the way.
START_WITHIN = timedelta(seconds=60)
# Longer than an agent lets pip run (agent.environments.BUILD_TIMEOUT_SECONDS, 15 min): a build
# still open by then lost its result.
RESULT_WITHIN = timedelta(minutes=20)
MAX_DELIVERIES = 3  # placements of one request before it fails for want of a node that takes it


def needs_build(spec: Mapping[str, Any]) -> bool:
    """Whether a function's environment is built (a venv with its requirements); without
    requirements it runs on the node's interpreter or base environment as they are."""
    image = spec.get("image") or {}
    return bool(image.get("requirements"))


@dataclass(frozen=True)
class BuildPlan:
    build: dict[str, str] = field(default_factory=dict)  # function id → the node asked to build
    cached: dict[str, str] = field(default_factory=dict)  # function id → a node that holds it already
    waiting: tuple[str, ...] = ()  # function ids no ready node could run


def plan_builds(
    wanted: Sequence[Request], nodes: Sequence[NodeSnapshot], building: Mapping[str, frozenset[str]]
) -> BuildPlan:
    """`wanted`: placement requests of the functions to build (`function_id` and `image_key` set);
    `nodes`: the workspace's ready nodes at full capacity; `building`: node id → image keys it is
    already asked to build."""
    plan = BuildPlan()
    asked = {node_id: set(keys) for node_id, keys in building.items()}
    waiting = []
    for request in sorted(wanted, key=lambda r: r.function_id):
        candidates = [n for n in nodes if feasible(request, n)]
        holding = [n for n in candidates if request.image_key in n.cached_images]
        joining = [n for n in candidates if request.image_key in asked.get(n.id, ())]
        if holding:
            plan.cached[request.function_id] = _best(request, holding)
        elif joining:
            plan.build[request.function_id] = _best(request, joining)
        elif candidates:
            node_id = _best(request, candidates)
            plan.build[request.function_id] = node_id
            asked.setdefault(node_id, set()).add(request.image_key)
        else:
            waiting.append(request.function_id)
    return BuildPlan(build=plan.build, cached=plan.cached, waiting=tuple(waiting))


def _best(request: Request, nodes: Sequence[NodeSnapshot]) -> str:
    placement = choose_node(request, nodes)
    assert placement is not None  # every node given is feasible
    return placement.node_id


@dataclass(frozen=True)
class OpenBuild:
    """A request placed on a node and not ended."""

    id: str
    node_id: str
    building: bool  # the node said it started
    delivered_at: datetime | None = None
    node_epoch: int | None = None  # the node's epoch when a poll handed it out
    started_at: datetime | None = None
    deliveries: int = 0


@dataclass(frozen=True)
class NodeLife:
    ready: bool
    epoch: int


@dataclass(frozen=True)
class Overdue:
    replace: tuple[str, ...] = ()  # back to pending with no node, to be placed again
    fail: dict[str, str] = field(default_factory=dict)  # build id → why it failed


def overdue(builds: Sequence[OpenBuild], nodes: Mapping[str, NodeLife], now: datetime) -> Overdue:
    """`nodes`: the life of every node named by `builds` (a missing one is gone)."""
    replace: list[str] = []
    fail: dict[str, str] = {}
    for build in builds:
        lost = _lost(build, nodes.get(build.node_id), now)
        if build.building and build.started_at is not None and now - build.started_at > RESULT_WITHIN:
            fail[build.id] = f"no result from the node within {RESULT_WITHIN.total_seconds():.0f} s of the start"
        elif lost is not None and build.deliveries >= MAX_DELIVERIES:
            fail[build.id] = f"handed to nodes {build.deliveries} times (at most {MAX_DELIVERIES}) and {lost}"
        elif lost is not None:
            replace.append(build.id)
    return Overdue(replace=tuple(replace), fail=fail)


def _lost(build: OpenBuild, node: NodeLife | None, now: datetime) -> str | None:
    """Why the build will not come from its node, or None while it still may."""
    if node is None or not node.ready:
        return "its node is no longer ready"
    if build.delivered_at is None:
        return None
    if build.node_epoch is not None and build.node_epoch != node.epoch:
        return "its node's agent restarted"
    if not build.building and now - build.delivered_at > START_WITHIN:
        return f"its node did not start it within {START_WITHIN.total_seconds():.0f} s"
    return None
