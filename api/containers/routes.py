"""/v1/containers: the containers that run the workspace's functions, where and in what state."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from api.auth.guards import requires
from api.calls.dispatch import Dispatcher
from api.containers.schemas import ContainerOut, ContainerPage
from api.containers.service import ContainerFilter, ContainerService
from api.dependencies import Caller, Cursor, DbSession, Limit
from api.execution.schemas import ContainerState
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.tokens.schemas import Scope


class ContainerController(Controller):
    path = "/v1/containers"
    tags = ["containers"]
    guards = [requires(Scope.READ)]

    @get(
        operation_id="list_containers",
        summary="List containers, newest first",
        description="Those not exited, unless `state` asks for another: pending, starting, ready (asleep ones "
        "too), stopping or exited.",
        responses=problem_responses(400, 401, 403),
    )
    async def list_containers(
        self,
        session: DbSession,
        principal: Caller,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
        in_state: Annotated[ContainerState | None, QueryParameter(name="state")] = None,
        app: Annotated[str | None, QueryParameter(max_length=64)] = None,
        function: Annotated[str | None, QueryParameter(max_length=64)] = None,
        node: Annotated[str | None, QueryParameter(max_length=64, description="A node's id or name.")] = None,
    ) -> ContainerPage:
        filters = ContainerFilter(in_state, app, function, node)
        items, next_cursor = await ContainerService(session).list(principal.workspace_id, filters, cursor, limit)
        return ContainerPage(items=items, next_cursor=next_cursor)

    @get(
        "/{container_id:str}",
        operation_id="get_container",
        summary="Get a container",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_container(self, session: DbSession, principal: Caller, container_id: FromPath[str]) -> ContainerOut:
        return await ContainerService(session).get(principal.workspace_id, container_id)

    @post(
        "/{container_id:str}/stop",
        operation_id="stop_container",
        summary="Stop a container",
        description="It finishes the calls it is running, takes no more, and exits; one no node has taken yet "
        "ends at once. Its function's queued calls go to its other containers, or to a new one. Stopping a "
        "container that is stopping or has exited changes nothing.",
        status_code=200,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def stop_container(self, state: State, principal: Caller, container_id: FromPath[str]) -> ContainerOut:
        async with state.sessionmaker() as session, session.begin():
            stopped, wake = await ContainerService(session).stop(principal.workspace_id, container_id)
        if wake:  # once committed
            dispatcher: Dispatcher = state.dispatcher
            await dispatcher.wake(*sorted(wake))
        return stopped
