"""The IO around the autoscaling and placement cores: read demand and capacity, apply the plan.

When a queued function fits on no node, idle containers of other functions (beyond their
`min_containers`) are stopped to make room, longest idle first.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps import autoscaling
from api.apps.models import App, Function, FunctionSettings
from api.calls.dispatch import container_wake_key, node_wake_key
from api.calls.models import Call
from api.calls.states import CallStatus
from api.containers.models import Container
from api.execution.schemas import ContainerState
from api.ids import new_id
from api.nodes.models import Node
from api.nodes.schemas import NodeState
from scheduler.autoscale import LiveContainer, ScalingPolicy, plan_scale
from scheduler.placement import (
    ANY_GPU,
    IdleContainer,
    NodeSnapshot,
    Placement,
    Request,
    choose_node,
    make_room,
    release,
)

log = logging.getLogger("skiff.scheduler")
LIVE = (ContainerState.PENDING.value, ContainerState.STARTING.value, ContainerState.READY.value)


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


@dataclass
class ClusterView:
    """What one tick knows: live containers, their functions, and free capacity per workspace."""

    functions: dict[str, Function]
    containers: list[Container]
    nodes: dict[str, list[NodeSnapshot]]
    policies: dict[str, ScalingPolicy] = field(default_factory=dict)  # by function id
    starts: list[Container] = field(default_factory=list)
    stops: set[str] = field(default_factory=set)

    def live_of(self, function_id: str) -> list[Container]:
        return [c for c in self.containers if c.function_id == function_id and c.id not in self.stops]

    def idle_elsewhere(self, fn: Function) -> list[IdleContainer]:
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

    def policy(self, fn: Function) -> ScalingPolicy:
        return self.policies.get(fn.id) or policy_of(fn.spec)

    def place(self, fn: Function, request: Request) -> Placement | None:
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
            nodes = [release(n, [freed[e] for e in evicted if freed[e].node_id == n.id]) for n in nodes]
        self.nodes[fn.workspace_id] = [
            _reserve(n, placement, request) if n.id == placement.node_id else n for n in nodes
        ]
        return placement


async def scale(session: AsyncSession, only: set[str] | None = None) -> set[str]:
    """Plan every function with calls or containers, or just `only` (the others still count as
    capacity in use and as candidates to make room). Returns the wake keys of the nodes and slots
    that have work: wake them once the session has committed, or they would look before it shows."""
    now: datetime = await session.scalar(select(func.now()))  # type: ignore[assignment]
    demand = await _demand(session, only)
    containers = list((await session.scalars(select(Container).where(Container.state.in_(LIVE)))).all())
    function_ids = set(demand) | {c.function_id for c in containers}
    if only is None:
        function_ids |= await _standing(session)
    rows = await session.execute(
        select(Function, App.current_version).join(App, App.id == Function.app_id).where(Function.id.in_(function_ids))
    )
    functions: dict[str, Function] = {}
    current: dict[str, int | None] = {}
    for fn, current_version in rows:
        functions[fn.id], current[fn.app_id] = fn, current_version
    view = ClusterView(
        functions,
        containers,
        await _snapshots(session, containers, functions),
        await _policies(session, functions, current),
    )
    for fn in sorted(functions.values(), key=lambda f: f.id):
        if only is not None and fn.id not in only:
            continue
        queued, running = demand.get(fn.id, (0, 0))
        live = [
            LiveContainer(
                id=c.id, busy=c.busy > 0, idle_since=c.idle_since, starting=c.state != ContainerState.READY.value
            )
            for c in view.live_of(fn.id)
        ]
        plan = plan_scale(queued, running, live, view.policy(fn), now)
        view.stops |= set(plan.stop)
        for _ in range(plan.start):
            placement = view.place(fn, request_of(fn.spec, fn.image_key, fn.id))
            if placement is None:
                log.info("no node fits", extra={"function": fn.id})
                break
            view.starts.append(
                Container(
                    id=new_id("ctr"),
                    workspace_id=fn.workspace_id,
                    function_id=fn.id,
                    node_id=placement.node_id,
                    state=ContainerState.PENDING.value,
                    busy=0,
                    gpu_model=placement.gpu_model,
                    gpu_count=placement.gpu_count,
                )
            )
    return await _apply(session, view)


async def _apply(session: AsyncSession, view: ClusterView) -> set[str]:
    if view.starts:  # one INSERT for all, without the unit of work's bookkeeping
        columns = ("id", "workspace_id", "function_id", "node_id", "state", "busy", "gpu_model", "gpu_count")
        await session.execute(insert(Container), [{k: getattr(c, k) for k in columns} for c in view.starts])
    woken = {node_wake_key(c.node_id) for c in view.starts}
    if view.stops:
        stopped = (
            await session.execute(
                update(Container)
                .where(Container.id.in_(view.stops), Container.state == ContainerState.READY.value)
                .values(state=ContainerState.STOPPING.value)
                .returning(Container.id, Container.node_id)
            )
        ).all()
        for container_id, node_id in stopped:
            woken |= {node_wake_key(node_id), container_wake_key(container_id)}
    await session.flush()
    return woken


def _setting_above_zero(column: Any, key: str) -> Any:
    return func.coalesce(column[key].as_integer(), 0) > 0


async def _standing(session: AsyncSession) -> set[str]:
    """Current versions that keep containers without any call: min_containers or buffer_containers
    above zero, in the manifest or as an override (a superset: `_policies` has the last word)."""
    rows = await session.scalars(
        select(Function.id)
        .join(App, (App.id == Function.app_id) & (App.current_version == Function.version))
        .outerjoin(
            FunctionSettings,
            (FunctionSettings.app_id == Function.app_id) & (FunctionSettings.function_name == Function.name),
        )
        .where(
            _setting_above_zero(Function.spec, "min_containers")
            | _setting_above_zero(Function.spec, "buffer_containers")
            | _setting_above_zero(FunctionSettings.overrides, "min_containers")
            | _setting_above_zero(FunctionSettings.overrides, "buffer_containers")
        )
    )
    return set(rows.all())


async def _policies(
    session: AsyncSession, functions: dict[str, Function], current: Mapping[str, int | None]
) -> dict[str, ScalingPolicy]:
    """Each function's policy: its manifest with the runtime overrides; versions no longer current
    (`current`: each app's current version) drain."""
    app_ids = {f.app_id for f in functions.values()}
    if not app_ids:
        return {}
    overrides = {
        (row.app_id, row.function_name): row.overrides
        for row in await session.scalars(select(FunctionSettings).where(FunctionSettings.app_id.in_(app_ids)))
    }
    return {
        fid: policy_of(
            fn.spec,
            autoscaling.effective(
                fn.spec, overrides.get((fn.app_id, fn.name), {}), current=current.get(fn.app_id) == fn.version
            ),
        )
        for fid, fn in functions.items()
    }


async def _demand(session: AsyncSession, only: set[str] | None) -> dict[str, tuple[int, int]]:
    stmt = (
        select(
            Call.function_id,
            func.count().filter(Call.status == CallStatus.QUEUED.value),
            func.count().filter(Call.status == CallStatus.RUNNING.value),
        )
        .where(Call.status.in_([CallStatus.QUEUED.value, CallStatus.RUNNING.value]))
        .group_by(Call.function_id)
    )
    if only is not None:
        stmt = stmt.where(Call.function_id.in_(only))
    rows = await session.execute(stmt)
    return {fid: (queued, running) for fid, queued, running in rows.all()}


async def _snapshots(
    session: AsyncSession, containers: Sequence[Container], functions: dict[str, Function]
) -> dict[str, list[NodeSnapshot]]:
    """Ready nodes by workspace, with what their live containers already hold subtracted."""
    used_cpu: dict[str, float] = defaultdict(float)
    used_memory: dict[str, int] = defaultdict(int)
    used_gpus: dict[str, Counter[str]] = defaultdict(Counter)
    for container in containers:
        if container.gpu_model:
            used_gpus[container.node_id][container.gpu_model] += container.gpu_count
        spec = functions[container.function_id].spec if container.function_id in functions else {}
        used_cpu[container.node_id] += float(spec.get("cpu", 1.0))
        used_memory[container.node_id] += int(spec.get("memory", 1024))
    by_workspace: dict[str, list[NodeSnapshot]] = defaultdict(list)
    for node in (await session.scalars(select(Node).where(Node.state == NodeState.READY.value))).all():
        gpus: dict[str, int] = defaultdict(int)
        for gpu in node.gpus:
            gpus[gpu["model"]] += 1
        by_workspace[node.workspace_id].append(
            NodeSnapshot(
                id=node.id,
                cpu_free=node.cpus - used_cpu[node.id],
                memory_free_mib=node.memory_mib - used_memory[node.id],
                gpus_free={model: count - used_gpus[node.id][model] for model, count in gpus.items()},
                labels=dict(node.labels),
                cached_images=frozenset(node.cached_images or ()),
                warm_zygotes=frozenset(node.warm_functions or ()),
                cpu_total=node.cpus,
            )
        )
    return by_workspace


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
