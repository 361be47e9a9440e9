"""The IO around the autoscaling and placement cores: read demand and capacity, apply the plan.

When a queued function fits on no node, idle containers of other functions (beyond their
`min_containers`) are stopped to make room, longest idle first.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import case, exists, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps import autoscaling
from api.calls.dispatch import container_wake_key, node_wake_key
from api.calls.models import Call
from api.calls.states import CallStatus
from api.containers.models import Container
from api.containers.stopping import MADE_ROOM, SCALED_DOWN
from api.execution.schemas import ContainerState
from api.ids import new_id
from scheduler.autoscale import LiveContainer, ScalingPolicy, plan_scale, why_capped
from scheduler.cluster import Cluster, FunctionRow, LiveRow, NodeRow, read_cluster
from scheduler.placement import (
    ANY_GPU,
    IdleContainer,
    NodeSnapshot,
    Placement,
    Request,
    choose_node,
    make_room,
    release,
    why_unplaced,
)

log = logging.getLogger("skiff.scheduler")


def policy_of(spec: dict[str, Any], settings: Mapping[str, int] | None = None) -> ScalingPolicy:
    """`settings`: the version's autoscaling in effect (api.apps.autoscaling.effective); the manifest's without."""
    scaling = settings if settings is not None else autoscaling.effective(spec, {})
    return ScalingPolicy(
        min_containers=scaling["min_containers"],
        max_containers=scaling["max_containers"],
        buffer_containers=scaling["buffer_containers"],
        max_inputs=int(spec.get("max_inputs", 1)),
        scaledown_window=float(scaling["scaledown_window"]),
    )


def request_of(spec: dict[str, Any], image_key: str, function_id: str = "") -> Request:
    gpus = spec.get("gpu") or []
    return Request(
        cpu=float(spec.get("cpu", 1.0)),
        memory_mib=int(spec.get("memory", 1024)),
        gpus=tuple((g["model"] or ANY_GPU, int(g["count"])) for g in gpus),
        image_key=image_key,
        function_id=function_id,
    )


@dataclass(frozen=True)
class NewContainer:
    id: str
    workspace_id: str
    function_id: str
    node_id: str
    gpu_model: str | None
    gpu_count: int


@dataclass
class ClusterView:
    """What one pass knows: live containers, their functions, and free capacity per workspace."""

    functions: dict[str, FunctionRow]
    containers: list[LiveRow]
    nodes: dict[str, list[NodeSnapshot]]
    policies: dict[str, ScalingPolicy] = field(default_factory=dict)  # by function id
    starts: list[NewContainer] = field(default_factory=list)
    stops: set[str] = field(default_factory=set)
    evicted: set[str] = field(default_factory=set)  # of the stops, those that make room for another function
    sleeps: set[str] = field(default_factory=set)
    waiting: dict[str, str] = field(default_factory=dict)  # function id -> why its calls wait (no node, or capped)
    placed: set[str] = field(default_factory=set)  # functions given a container

    def live_of(self, function_id: str) -> list[LiveRow]:
        return [c for c in self.containers if c.function_id == function_id and c.id not in self.stops]

    def idle_elsewhere(self, fn: FunctionRow) -> list[IdleContainer]:
        live = Counter(c.function_id for c in self.containers if c.id not in self.stops)
        spare = {fid: live[fid] - self.policy(f).min_containers for fid, f in self.functions.items()}
        idle = []
        candidates = [c for c in self.containers if c.idle_since is not None]
        for c in sorted(candidates, key=lambda c: (c.idle_since, c.id)):
            other = self.functions.get(c.function_id)
            if (
                other is None
                or other.id == fn.id
                or other.workspace_id != fn.workspace_id
                or c.id in self.stops
                or c.state != ContainerState.READY.value
                or c.busy
                or c.idle_since is None
                or spare[c.function_id] <= 0
            ):
                continue
            spare[c.function_id] -= 1
            spec = other.spec
            idle.append(
                IdleContainer(
                    id=c.id,
                    node_id=c.node_id,
                    cpu=float(spec.get("cpu", 1.0)),
                    memory_mib=int(spec.get("memory", 1024)),
                    idle_since=c.idle_since,
                    gpu_model=c.gpu_model,
                    gpu_count=c.gpu_count,
                )
            )
        return idle

    def policy(self, fn: FunctionRow) -> ScalingPolicy:
        return self.policies.get(fn.id) or policy_of(fn.spec)

    def place(self, fn: FunctionRow, request: Request) -> Placement | None:
        nodes = self.nodes[fn.workspace_id]
        placement = choose_node(request, nodes)
        if placement is None:
            idle = self.idle_elsewhere(fn)
            room = make_room(request, nodes, idle)
            if room is None:
                return None
            placement, evicted = room
            freed = {c.id: c for c in idle if c.id in evicted}
            self.stops |= set(evicted)
            self.evicted |= set(evicted)
            nodes = [release(n, [freed[e] for e in evicted if freed[e].node_id == n.id]) for n in nodes]
        self.nodes[fn.workspace_id] = [
            _reserve(n, placement, request) if n.id == placement.node_id else n for n in nodes
        ]
        return placement


def may_sleep(fn: FunctionRow, container: LiveRow, warm_on_node: set[str]) -> bool:
    """Whether a container may sleep rather than stop (scheduler.autoscale): its version is current and
    forks from a zygote its node keeps warm, and it holds no GPU (an asleep one would keep it from others)."""
    return fn.current and fn.spec.get("zygote", True) is not False and not container.gpu_count and fn.id in warm_on_node


@dataclass(frozen=True)
class Scaled:
    wake: set[str]  # the nodes and slots that have work: wake them once the session has committed
    waiting: dict[str, str]  # function id -> why its calls wait: no node takes its container, or it is capped
    placed: set[str]  # functions given a container, with nothing left to wait for


async def scale(session: AsyncSession, only: set[str] | None = None) -> Scaled:
    """Plan every function with calls or containers, or just `only` (the others still count as
    capacity in use and as candidates to make room)."""
    now, cluster = await read_cluster(session, only)
    functions = {fn.id: fn for fn in cluster.functions}
    view = ClusterView(functions, cluster.containers, _snapshots(cluster, functions), _policies(cluster))
    demand = {d.function_id: (d.queued, d.running) for d in cluster.demand}
    warm = {node.id: set(node.warm_functions or ()) for node in cluster.nodes}
    for fn in sorted(functions.values(), key=lambda f: f.id):
        if only is not None and fn.id not in only:
            continue
        queued, running = demand.get(fn.id, (0, 0))
        live = [
            LiveContainer(
                id=c.id,
                busy=c.busy > 0,
                idle_since=c.idle_since,
                starting=c.state != ContainerState.READY.value,
                asleep=c.asleep,
                may_sleep=may_sleep(fn, c, warm.get(c.node_id, set())),
            )
            for c in view.live_of(fn.id)
        ]
        policy = view.policy(fn)
        plan = plan_scale(queued, running, live, policy, now)
        view.stops |= set(plan.stop)
        view.sleeps |= set(plan.sleep)
        for _ in range(plan.start):
            request = request_of(fn.spec, fn.image_key, fn.id)
            placement = view.place(fn, request)
            if placement is None:
                empty = [_snapshot(node, {}, {}, {}) for node in cluster.nodes if node.workspace_id == fn.workspace_id]
                view.waiting[fn.id] = why = why_unplaced(request, empty)
                log.info("no node fits", extra={"function": fn.id, "why": why})
                break
            view.placed.add(fn.id)
            view.starts.append(
                NewContainer(
                    id=new_id("ctr"),
                    workspace_id=fn.workspace_id,
                    function_id=fn.id,
                    node_id=placement.node_id,
                    gpu_model=placement.gpu_model,
                    gpu_count=placement.gpu_count,
                )
            )
        if fn.id not in view.waiting and (capped := why_capped(queued, running, policy)):
            view.waiting[fn.id] = capped
    return Scaled(await _apply(session, view), view.waiting, view.placed - set(view.waiting))


async def _apply(session: AsyncSession, view: ClusterView) -> set[str]:
    if view.starts:  # one INSERT for all, without the unit of work's bookkeeping
        pending = {"state": ContainerState.PENDING.value, "busy": 0}
        await session.execute(insert(Container), [{**asdict(c), **pending} for c in view.starts])
    woken = {node_wake_key(c.node_id) for c in view.starts}
    if sleeps := view.sleeps - view.stops:  # its slot hears it at once and takes the process down
        asleep = await session.scalars(
            update(Container)
            .where(  # a claim since the read wins: the container is busy again
                Container.id.in_(sleeps),
                Container.state == ContainerState.READY.value,
                Container.busy == 0,
                Container.asleep_since.is_(None),
                ~exists().where(Call.container_id == Container.id, Call.status == CallStatus.RUNNING.value),
            )
            .values(asleep_since=func.now())
            .returning(Container.id)
        )
        woken |= {container_wake_key(container_id) for container_id in asleep.all()}
    if view.stops:
        stopped = (
            await session.execute(
                update(Container)
                .where(Container.id.in_(view.stops), Container.state == ContainerState.READY.value)
                .values(
                    state=ContainerState.STOPPING.value,
                    exit_reason=case((Container.id.in_(view.evicted), MADE_ROOM), else_=SCALED_DOWN),
                )
                .returning(Container.id, Container.node_id)
            )
        ).all()
        for container_id, node_id in stopped:
            woken |= {node_wake_key(node_id), container_wake_key(container_id)}
    return woken


def _policies(cluster: Cluster) -> dict[str, ScalingPolicy]:
    """Each function's policy: its manifest with the runtime overrides; versions no longer current drain."""
    overrides = {(o.app_id, o.function_name): o.overrides for o in cluster.settings}
    return {
        fn.id: policy_of(
            fn.spec, autoscaling.effective(fn.spec, overrides.get((fn.app_id, fn.name), {}), current=fn.current)
        )
        for fn in cluster.functions
    }


def _snapshots(cluster: Cluster, functions: Mapping[str, FunctionRow]) -> dict[str, list[NodeSnapshot]]:
    """Ready nodes by workspace, with what their live containers already hold subtracted."""
    used_cpu: dict[str, float] = defaultdict(float)
    used_memory: dict[str, int] = defaultdict(int)
    used_gpus: dict[str, Counter[str]] = defaultdict(Counter)
    for container in cluster.containers:
        if container.gpu_model:
            used_gpus[container.node_id][container.gpu_model] += container.gpu_count
        spec = functions[container.function_id].spec if container.function_id in functions else {}
        used_cpu[container.node_id] += float(spec.get("cpu", 1.0))
        used_memory[container.node_id] += int(spec.get("memory", 1024))
    by_workspace: dict[str, list[NodeSnapshot]] = defaultdict(list)
    for node in cluster.nodes:
        by_workspace[node.workspace_id].append(_snapshot(node, used_cpu, used_memory, used_gpus))
    return by_workspace


def _snapshot(
    node: NodeRow, used_cpu: Mapping[str, float], used_memory: Mapping[str, int], used_gpus: Mapping[str, Counter[str]]
) -> NodeSnapshot:
    gpus = Counter(str(gpu["model"]) for gpu in node.gpus)
    used = used_gpus.get(node.id, Counter())
    return NodeSnapshot(
        id=node.id,
        cpu_free=node.cpus - used_cpu.get(node.id, 0.0),
        memory_free_mib=node.memory_mib - used_memory.get(node.id, 0),
        gpus_free={model: count - used[model] for model, count in gpus.items()},
        labels=dict(node.labels),
        cached_images=frozenset(node.cached_images or ()),
        warm_zygotes=frozenset(node.warm_functions or ()),
        cpu_total=node.cpus,
    )


def _reserve(node: NodeSnapshot, placement: Placement, request: Request) -> NodeSnapshot:
    gpus = dict(node.gpus_free)
    if placement.gpu_model:
        gpus[placement.gpu_model] -= placement.gpu_count
    return replace(
        node,
        cpu_free=node.cpu_free - request.cpu,
        memory_free_mib=node.memory_free_mib - request.memory_mib,
        gpus_free=gpus,
    )
