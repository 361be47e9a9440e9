"""/v1/workspace: the caller's own workspace."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import get

from api.auth.guards import requires
from api.dependencies import Caller, DbSession
from api.problems import problem_responses
from api.tokens.schemas import Scope
from api.workspaces.service import WorkspaceService


class WorkspaceOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    created_at: datetime


@get(
    "/v1/workspace",
    tags=["workspaces"],
    operation_id="get_workspace",
    summary="The workspace the token belongs to",
    guards=[requires(Scope.READ)],
    responses=problem_responses(401, 403),
)
async def get_workspace(session: DbSession, principal: Caller) -> WorkspaceOut:
    workspace = await WorkspaceService(session).get(principal.workspace_id)
    return WorkspaceOut(id=workspace.id, name=workspace.name, created_at=workspace.created_at)
