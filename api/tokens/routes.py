"""/v1/tokens: create, list and revoke API tokens."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from api.auth.cache import PrincipalCache
from api.auth.guards import requires
from api.dependencies import Caller, Cursor, DbSession, IdempotencyKeyHeader, Limit
from api.idempotency.service import IdempotencyService, request_digest
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.tokens.schemas import Scope, TokenCreate, TokenCreated, TokenOut, TokenPage
from api.tokens.service import TokenService, token_created, token_out


class TokenController(Controller):
    path = "/v1/tokens"
    tags = ["tokens"]
    guards = [requires(Scope.ADMIN)]

    @post(
        operation_id="create_token",
        status_code=201,
        summary="Create a token",
        description="The plaintext is in `token` in this response only; it is stored as a hash. "
        "A request repeated with the same `Idempotency-Key` returns the same token without its plaintext.",
        responses=problem_responses(400, 401, 403, 413, 422),
    )
    async def create_token(
        self,
        data: JSONBody[TokenCreate],
        session: DbSession,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader,
    ) -> Response[TokenCreated]:
        service = TokenService(session)
        keys = IdempotencyService(session, principal.workspace_id)
        if idempotency_key is not None:
            earlier = await keys.claim("create_token", idempotency_key, request_digest(data))
            if earlier is not None:
                token = await service.get(principal.workspace_id, earlier)
                return Response(token_created(token, None), status_code=200)
        token, plaintext = await service.create(principal.workspace_id, data)
        if idempotency_key is not None:
            await keys.record("create_token", idempotency_key, token.id)
        return Response(token_created(token, plaintext), status_code=201)

    @get(operation_id="list_tokens", summary="List tokens", responses=problem_responses(400, 401, 403))
    async def list_tokens(
        self,
        session: DbSession,
        principal: Caller,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> TokenPage:
        tokens, next_cursor = await TokenService(session).list(principal.workspace_id, cursor, limit)
        return TokenPage(items=[token_out(t) for t in tokens], next_cursor=next_cursor)

    @get(
        "/{token_id:str}",
        operation_id="get_token",
        summary="Get a token",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_token(self, session: DbSession, principal: Caller, token_id: FromPath[str]) -> TokenOut:
        return token_out(await TokenService(session).get(principal.workspace_id, token_id))

    @delete(
        "/{token_id:str}",
        operation_id="revoke_token",
        status_code=200,
        summary="Revoke a token",
        description="Revoking is immediate and cannot be undone; revoking twice is harmless.",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def revoke_token(
        self, session: DbSession, principal: Caller, state: State, token_id: FromPath[str]
    ) -> TokenOut:
        token = await TokenService(session).revoke(principal.workspace_id, token_id)
        principals: PrincipalCache = state.principals
        principals.forget(token.id)
        return token_out(token)
