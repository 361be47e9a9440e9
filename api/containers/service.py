"""A workspace's containers: each with the app, function and node it serves and runs on; stopping one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import App, Function
from api.calls.models import Call
from api.calls.states import CallStatus
from api.containers.models import Container
from api.containers.schemas import ContainerOut
from api.containers.stopping import STOPPED_BY_REQUEST, stop_containers
from api.errors import NotFound
from api.execution.schemas import ContainerState
from api.ids import is_valid_id
from api.nodes.models import Node
from api.nodes.schemas import GpuUsage
from api.pagination import page_query, split_page

ID_PREFIX = "ctr"


@dataclass(frozen=True)
class ContainerFilter:
    state: ContainerState | None = None  # None: every state but exited
    app: str | None = None
    function: str | None = None
    node: str | None = None  # its id or its name


def container_out(row: Any, running_calls: int) -> ContainerOut:
    """From a row of `_with_names`: the container, its app's name, its function's name and version, its
    node's name and GPU load."""
    container: Container = row.Container
    return ContainerOut(
        id=container.id,
        app=row.app,
        function=row.function,
        version=row.version,
        function_id=container.function_id,
        node_id=container.node_id,
        node=row.node,
        state=ContainerState(container.state),
        asleep=container.asleep_since is not None,
        running_calls=running_calls,
        gpu_model=container.gpu_model,
        gpu_count=container.gpu_count,
        gpus=list(container.gpu_indices or []),
        gpu_usage=_usage_of(container, row.gpu_usage),
        created_at=container.created_at,
        started_at=container.started_at,
        ready_at=container.ready_at,
        idle_since=container.idle_since,
        exited_at=container.exited_at,
        exit_reason=container.exit_reason,
        cold_start_ms=container.cold_start_ms,
    )


def _usage_of(container: Container, node_usage: list[dict[str, Any]] | None) -> list[GpuUsage]:
    """The node's last report on the GPUs the container holds, while it is not exited."""
    if container.state == ContainerState.EXITED.value or not container.gpu_indices:
        return []
    held = set(container.gpu_indices)
    return [msgspec.convert(usage, GpuUsage) for usage in node_usage or [] if usage.get("index") in held]


def _with_names(workspace_id: str) -> Select[Container, str, str, int, str, list[dict[str, Any]]]:
    return (
        select(
            Container,
            App.name.label("app"),
            Function.name.label("function"),
            Function.version,
            Node.name.label("node"),
            Node.gpu_usage,
        )
        .join(Function, Function.id == Container.function_id)
        .join(App, App.id == Function.app_id)
        .join(Node, Node.id == Container.node_id)
        .where(Container.workspace_id == workspace_id)
    )


class ContainerService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(
        self, workspace_id: str, filters: ContainerFilter, cursor: str | None, limit: int
    ) -> tuple[list[ContainerOut], str | None]:
        stmt = _with_names(workspace_id)
        if filters.state is None:
            stmt = stmt.where(Container.state != ContainerState.EXITED.value)
        else:
            stmt = stmt.where(Container.state == filters.state.value)
        if filters.app is not None:
            stmt = stmt.where(App.name == filters.app)
        if filters.function is not None:
            stmt = stmt.where(Function.name == filters.function)
        if filters.node is not None:
            stmt = stmt.where(or_(Container.node_id == filters.node, Node.name == filters.node))
        rows = (await self.session.execute(page_query(stmt, Container.id, cursor, limit))).all()
        items, next_cursor = split_page(rows, limit, lambda row: row.Container.id)
        running = await self._running_calls(workspace_id, [row.Container.id for row in items])
        return [container_out(row, running.get(row.Container.id, 0)) for row in items], next_cursor

    async def stop(self, workspace_id: str, container_id: str) -> tuple[ContainerOut, set[str]]:
        """The container as it stands once stopped, and the keys to wake once the caller has committed."""
        ours = and_(Container.id == container_id, Container.workspace_id == workspace_id)
        wake = await stop_containers(self.session, ours, STOPPED_BY_REQUEST)
        return await self.get(workspace_id, container_id), wake

    async def get(self, workspace_id: str, container_id: str) -> ContainerOut:
        row = None
        if is_valid_id(container_id, ID_PREFIX):
            row = (await self.session.execute(_with_names(workspace_id).where(Container.id == container_id))).first()
        if row is None:
            raise NotFound(f"container {container_id[:64]!r} not found")
        running = await self._running_calls(workspace_id, [container_id])
        return container_out(row, running.get(container_id, 0))

    async def _running_calls(self, workspace_id: str, container_ids: Sequence[str]) -> dict[str, int]:
        if not container_ids:
            return {}
        rows = await self.session.execute(
            select(Call.container_id, func.count())
            .where(
                Call.workspace_id == workspace_id,  # among its active calls, which an index holds
                Call.status == CallStatus.RUNNING.value,
                Call.container_id.in_(container_ids),
            )
            .group_by(Call.container_id)
        )
        return {container_id: count for container_id, count in rows.all() if container_id is not None}
