"""Registering nodes, recording their heartbeats, and listing them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.containers.models import Container
from api.errors import Conflict, NotFound
from api.execution.schemas import ContainerState
from api.ids import is_valid_id, new_id
from api.nodes.models import Node
from api.nodes.schemas import Gpu, GpuUsage, NodeOut, NodeRegistration, NodeState
from api.pagination import page_query, split_page

ID_PREFIX = "node"


@dataclass(frozen=True)
class NodeLoad:
    """What a node runs now: its containers not exited, and the GPUs they hold."""

    containers: int = 0
    gpus_held: tuple[int, ...] = ()


def node_out(node: Node, load: NodeLoad | None = None) -> NodeOut:
    """The node; with `load`, what it runs (a user's view), without it none said (an agent's)."""
    return NodeOut(
        id=node.id,
        name=node.name,
        hostname=node.hostname,
        agent_version=node.agent_version,
        state=NodeState(node.state),
        cpus=node.cpus,
        memory_mib=node.memory_mib,
        gpus=[msgspec.convert(g, Gpu) for g in node.gpus],
        gpu_usage=[msgspec.convert(g, GpuUsage) for g in node.gpu_usage or []],
        cached_images=list(node.cached_images or []),
        warm_functions=list(node.warm_functions or []),
        labels=dict(node.labels),
        epoch=node.epoch,
        registered_at=node.registered_at,
        last_heartbeat_at=node.last_heartbeat_at,
        containers=load.containers if load is not None else None,
        gpus_held=sorted(load.gpus_held) if load is not None else None,
    )


class NodeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(self, principal: Principal, spec: NodeRegistration) -> Node:
        """A node keeps its id across restarts (same name); each registration starts a new epoch."""
        values = {
            "hostname": spec.hostname,
            "agent_version": spec.agent_version,
            "cpus": spec.cpus,
            "memory_mib": spec.memory_mib,
            "gpus": msgspec.to_builtins(spec.gpus),
            "labels": spec.labels,
            "state": NodeState.READY.value,
            "token_id": principal.token_id,
            "registered_at": func.now(),
            "last_heartbeat_at": func.now(),
        }
        insert_stmt = insert(Node).values(
            id=new_id(ID_PREFIX), workspace_id=principal.workspace_id, name=spec.name, epoch=1, **values
        )
        stmt = insert_stmt.on_conflict_do_update(
            index_elements=[Node.workspace_id, Node.name], set_={**values, "epoch": Node.epoch + 1}
        ).returning(Node)
        return (await self.session.scalars(stmt, execution_options={"populate_existing": True})).one()

    async def heartbeat(self, principal: Principal, node_id: str, epoch: int) -> Node:
        node = await self.get(principal.workspace_id, node_id)
        if node.epoch != epoch:
            raise Conflict(f"node {node_id} re-registered (epoch {node.epoch}); this agent's epoch {epoch} is over")
        return (
            await self.session.scalars(
                update(Node)
                .where(Node.id == node.id)
                .values(
                    last_heartbeat_at=func.now(),
                    state=func.coalesce(func.nullif(Node.state, NodeState.DOWN.value), NodeState.READY.value),
                )
                .returning(Node),
                execution_options={"populate_existing": True},
            )
        ).one()

    async def mark_silent_down(self, timeout_seconds: float) -> list[str]:
        """Nodes whose last heartbeat is older than the timeout (by Postgres's clock) are down."""
        rows = await self.session.scalars(
            update(Node)
            .where(
                Node.state != NodeState.DOWN.value,
                Node.last_heartbeat_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, timeout_seconds),
            )
            .values(state=NodeState.DOWN.value)
            .returning(Node.id)
        )
        return list(rows.all())

    async def get(self, workspace_id: str, node_id: str) -> Node:
        node = None
        if is_valid_id(node_id, ID_PREFIX):
            node = await self.session.scalar(select(Node).where(Node.workspace_id == workspace_id, Node.id == node_id))
        if node is None:
            raise NotFound(f"node {node_id[:64]!r} not found")
        return node

    async def loads(self, node_ids: Sequence[str]) -> dict[str, NodeLoad]:
        """What each of these nodes runs now (by the index on live containers)."""
        if not node_ids:
            return {}
        rows = await self.session.execute(
            select(Container.node_id, Container.gpu_indices).where(
                Container.node_id.in_(node_ids), Container.state != ContainerState.EXITED.value
            )
        )
        counts: Counter[str] = Counter()
        held: dict[str, list[int]] = defaultdict(list)
        for node_id, gpu_indices in rows.all():
            counts[node_id] += 1
            held[node_id] += gpu_indices or []
        return {node_id: NodeLoad(counts[node_id], tuple(held[node_id])) for node_id in node_ids}

    async def list(self, workspace_id: str, cursor: str | None, limit: int) -> tuple[list[Node], str | None]:
        stmt = page_query(select(Node).where(Node.workspace_id == workspace_id), Node.id, cursor, limit)
        return split_page((await self.session.scalars(stmt)).all(), limit, lambda n: n.id)
