"""Reading a workspace's containers, with the app and function each one serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import App, Function
from api.containers.models import Container
from api.containers.schemas import ContainerOut
from api.errors import NotFound
from api.execution.schemas import ContainerState
from api.ids import is_valid_id
from api.pagination import page_query, split_page

ID_PREFIX = "ctr"


@dataclass(frozen=True)
class ContainerFilter:
    state: ContainerState | None = None  # None: every state but exited
    app: str | None = None
    function: str | None = None
    node_id: str | None = None


def container_out(row: Any) -> ContainerOut:
    """From a row of `_with_function`: the container, its app's name, its function's name and version."""
    container: Container = row.Container
    return ContainerOut(
        id=container.id,
        app=row.app,
        function=row.function,
        version=row.version,
        function_id=container.function_id,
        node_id=container.node_id,
        state=ContainerState(container.state),
        asleep=container.asleep_since is not None,
        busy=container.busy,
        gpu_model=container.gpu_model,
        gpu_count=container.gpu_count,
        created_at=container.created_at,
        started_at=container.started_at,
        ready_at=container.ready_at,
        idle_since=container.idle_since,
        exited_at=container.exited_at,
        exit_reason=container.exit_reason,
        cold_start_ms=container.cold_start_ms,
    )


def _with_function(workspace_id: str) -> Select[Container, str, str, int]:
    return (
        select(Container, App.name.label("app"), Function.name.label("function"), Function.version)
        .join(Function, Function.id == Container.function_id)
        .join(App, App.id == Function.app_id)
        .where(Container.workspace_id == workspace_id)
    )


class ContainerService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(
        self, workspace_id: str, filters: ContainerFilter, cursor: str | None, limit: int
    ) -> tuple[list[ContainerOut], str | None]:
        stmt = _with_function(workspace_id)
        if filters.state is None:
            stmt = stmt.where(Container.state != ContainerState.EXITED.value)
        else:
            stmt = stmt.where(Container.state == filters.state.value)
        if filters.app is not None:
            stmt = stmt.where(App.name == filters.app)
        if filters.function is not None:
            stmt = stmt.where(Function.name == filters.function)
        if filters.node_id is not None:
            stmt = stmt.where(Container.node_id == filters.node_id)
        rows = (await self.session.execute(page_query(stmt, Container.id, cursor, limit))).all()
        items, next_cursor = split_page(rows, limit, lambda row: row.Container.id)
        return [container_out(row) for row in items], next_cursor

    async def get(self, workspace_id: str, container_id: str) -> ContainerOut:
        row = None
        if is_valid_id(container_id, ID_PREFIX):
            row = (await self.session.execute(_with_function(workspace_id).where(Container.id == container_id))).first()
        if row is None:
            raise NotFound(f"container {container_id[:64]!r} not found")
        return container_out(row)
