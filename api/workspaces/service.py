"""Creating workspaces, each with its first admin token."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound
from api.ids import new_id
from api.tokens.schemas import Scope, TokenCreate, TokenKind
from api.tokens.service import TokenService
from api.workspaces.models import Workspace


class WorkspaceService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str) -> tuple[Workspace, str]:
        """The new workspace and the plaintext of its first admin token."""
        if await self.session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
            raise Conflict(f"workspace {name!r} already exists")
        workspace = Workspace(id=new_id("ws"), name=name)
        self.session.add(workspace)
        await self.session.flush()
        _, plaintext = await TokenService(self.session).create(
            workspace.id, TokenCreate(name="admin", kind=TokenKind.USER, scopes=[Scope.ADMIN])
        )
        return workspace, plaintext

    async def get(self, workspace_id: str) -> Workspace:
        workspace = await self.session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound(f"workspace {workspace_id!r} not found")
        return workspace
