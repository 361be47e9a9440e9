"""/v1/nodes (users: list and inspect) and /v1/agent/nodes (agents: register and heartbeat)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from api.auth.guards import node_only, requires
from api.dependencies import AppSettings, Caller, Cursor, DbSession, Limit
from api.nodes.schemas import AgentConfig, Heartbeat, NodeOut, NodePage, NodeRegistration
from api.nodes.service import NodeService, node_out
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.tokens.schemas import Scope


class NodeController(Controller):
    path = "/v1/nodes"
    tags = ["nodes"]
    guards = [requires(Scope.READ)]

    @get(operation_id="list_nodes", summary="List nodes", responses=problem_responses(400, 401, 403))
    async def list_nodes(
        self, session: DbSession, principal: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> NodePage:
        service = NodeService(session)
        nodes, next_cursor = await service.list(principal.workspace_id, cursor, limit)
        loads = await service.loads([n.id for n in nodes])
        return NodePage(items=[node_out(n, loads[n.id]) for n in nodes], next_cursor=next_cursor)

    @get(
        "/{node_id:str}",
        operation_id="get_node",
        summary="Get a node",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_node(self, session: DbSession, principal: Caller, node_id: FromPath[str]) -> NodeOut:
        service = NodeService(session)
        node = await service.get(principal.workspace_id, node_id)
        return node_out(node, (await service.loads([node.id]))[node.id])


class AgentNodeController(Controller):
    path = "/v1/agent/nodes"
    tags = ["agent"]
    guards = [node_only]

    @post(
        operation_id="register_node",
        status_code=200,
        summary="Register (or re-register) this agent's node",
        responses=problem_responses(400, 401, 403, 413, 422),
    )
    async def register_node(
        self, data: JSONBody[NodeRegistration], session: DbSession, principal: Caller, settings: AppSettings
    ) -> AgentConfig:
        node = await NodeService(session).register(principal, data)
        return AgentConfig(
            node=node_out(node),
            heartbeat_interval_seconds=settings.node_heartbeat_interval_seconds,
            heartbeat_timeout_seconds=settings.node_heartbeat_timeout_seconds,
        )

    @post(
        "/{node_id:str}/heartbeat",
        operation_id="node_heartbeat",
        status_code=200,
        summary="Report that the node is alive",
        responses=problem_responses(400, 401, 403, 404, 409, 422),
    )
    async def node_heartbeat(
        self, data: JSONBody[Heartbeat], session: DbSession, principal: Caller, node_id: FromPath[str]
    ) -> NodeOut:
        return node_out(await NodeService(session).heartbeat(principal, node_id, data.epoch))
