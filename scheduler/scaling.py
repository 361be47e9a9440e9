"""The IO around the autoscaling and placement cores: read demand and capacity, apply the plan."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import Function
from api.calls.dispatch import Dispatcher, container_wake_key, node_wake_key
from api.calls.models import Call
from api.calls.states import CallStatus
from api.containers.models import Container
from api.execution.schemas import ContainerState
from api.ids import new_id
from api.nodes.models import Node
from api.nodes.schemas import NodeState
from scheduler.autoscale import LiveContainer, ScalingPolicy, plan_scale
from scheduler.placement import NodeSnapshot, Request, choose_node

log = logging.getLogger("skiff.scheduler")
LIVE = (ContainerState.PENDING.value, ContainerState.STARTING.value, ContainerState.READY.value)


def policy_of(spec: dict[str, Any]) -> ScalingPolicy:
    return ScalingPolicy(
        min_containers=int(spec.get("min_containers", 0)),
        max_containers=int(spec.get("max_containers", 8)),
        buffer_containers=int(spec.get("buffer_containers", 0)),
        max_inputs=int(spec.get("max_inputs", 1)),
        scaledown_window=float(spec.get("scaledown_window", 60)),
    )


def request_of(spec: dict[str, Any], image_key: str) -> Request:
    gpus = spec.get("gpu") or []
    return Request(
        cpu=float(spec.get("cpu", 1.0)),
        memory_mib=int(spec.get("memory", 1024)),
        gpu_models=tuple(g["model"] for g in gpus),
        gpu_count=int(gpus[0]["count"]) if gpus else 0,
        image_key=image_key,
    )


async def scale(session: AsyncSession, dispatcher: Dispatcher) -> None:
    now: datetime = await session.scalar(select(func.now()))  # type: ignore[assignment]
    demand = {
        fid: (queued, running)
        for fid, queued, running in (
            await session.execute(
                select(
                    Call.function_id,
                    func.count().filter(Call.status == CallStatus.QUEUED.value),
                    func.count().filter(Call.status == CallStatus.RUNNING.value),
                )
                .where(Call.status.in_([CallStatus.QUEUED.value, CallStatus.RUNNING.value]))
                .group_by(Call.function_id)
            )
        ).all()
    }
    containers = (await session.scalars(select(Container).where(Container.state.in_(LIVE)))).all()
    live_by_function: dict[str, list[Container]] = defaultdict(list)
    for container in containers:
        live_by_function[container.function_id].append(container)
    function_ids = set(demand) | set(live_by_function)
    functions = (await session.scalars(select(Function).where(Function.id.in_(function_ids)))).all()
    nodes = await _snapshots(session, containers, {f.id: f for f in functions})
    woken: set[str] = set()
    for fn in functions:
        queued, running = demand.get(fn.id, (0, 0))
        live = [
            LiveContainer(
                id=c.id,
                busy=c.busy > 0,
                idle_since=c.idle_since,
                starting=c.state != ContainerState.READY.value,
            )
            for c in live_by_function[fn.id]
        ]
        plan = plan_scale(queued, running, live, policy_of(fn.spec), now)
        request = request_of(fn.spec, fn.image_key)
        for _ in range(plan.start):
            workspace_nodes = nodes[fn.workspace_id]
            placement = choose_node(request, workspace_nodes)
            if placement is None:
                log.info(
                    "no node fits",
                    extra={"function": fn.id, "cpu": request.cpu, "memory": request.memory_mib},
                )
                break
            session.add(
                Container(
                    id=new_id("ctr"),
                    workspace_id=fn.workspace_id,
                    function_id=fn.id,
                    node_id=placement.node_id,
                    state=ContainerState.PENDING.value,
                    busy=0,
                )
            )
            nodes[fn.workspace_id] = [_reserve(n, request) if n.id == placement.node_id else n for n in workspace_nodes]
            woken.add(node_wake_key(placement.node_id))
        if plan.stop:
            stopped = (
                await session.execute(
                    update(Container)
                    .where(Container.id.in_(plan.stop), Container.state == ContainerState.READY.value)
                    .values(state=ContainerState.STOPPING.value)
                    .returning(Container.id, Container.node_id)
                )
            ).all()
            for container_id, node_id in stopped:
                woken |= {node_wake_key(node_id), container_wake_key(container_id)}
    await session.flush()
    if woken:
        await dispatcher.wake(*sorted(woken))


async def _snapshots(
    session: AsyncSession, containers: Any, functions: dict[str, Function]
) -> dict[str, list[NodeSnapshot]]:
    """Ready nodes by workspace, with what their live containers already hold subtracted."""
    used_cpu: dict[str, float] = defaultdict(float)
    used_memory: dict[str, int] = defaultdict(int)
    for container in containers:
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
                gpus_free=dict(gpus),
                labels=dict(node.labels),
                cpu_total=node.cpus,
            )
        )
    return by_workspace


def _reserve(node: NodeSnapshot, request: Request) -> NodeSnapshot:
    return replace(
        node, cpu_free=node.cpu_free - request.cpu, memory_free_mib=node.memory_free_mib - request.memory_mib
    )
