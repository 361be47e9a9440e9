"""/v1/secrets: create or replace, list and delete a workspace's secrets; values are never returned."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from api.auth.guards import requires
from api.dependencies import Caller, Cursor, DbSession, Limit
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.secrets.crypto import Keyring
from api.secrets.schemas import SecretCreate, SecretOut, SecretPage
from api.secrets.service import SecretService, secret_out
from api.tokens.schemas import Scope


def _service(session: DbSession, state: State) -> SecretService:
    keyring: Keyring = state.keyring
    return SecretService(session, keyring)


class SecretController(Controller):
    path = "/v1/secrets"
    tags = ["secrets"]

    @post(
        operation_id="create_secret",
        summary="Create or replace a secret",
        description="Stores `values` encrypted; a secret of the same name has all its values replaced. "
        'Functions that declare the secret (`secrets = ["name"]` in skiff.toml) get its values as '
        "environment variables. The answer names the variables, never their values.",
        status_code=200,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 413, 422, 503),
    )
    async def create_secret(
        self, data: JSONBody[SecretCreate], session: DbSession, principal: Caller, state: State
    ) -> Response[SecretOut]:
        secret = await _service(session, state).put(principal.workspace_id, data)
        return Response(secret_out(secret), status_code=200)

    @get(
        operation_id="list_secrets",
        summary="List secrets",
        description="Names, variable names and update times; values are never returned.",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403),
    )
    async def list_secrets(
        self, session: DbSession, principal: Caller, state: State, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> SecretPage:
        rows, next_cursor = await _service(session, state).list(principal.workspace_id, cursor, limit)
        return SecretPage(items=[secret_out(s) for s in rows], next_cursor=next_cursor)

    @delete(
        "/{name:str}",
        operation_id="delete_secret",
        status_code=200,
        summary="Delete a secret",
        description="Answers the deleted secret's names (never its values). Containers already running keep the "
        "values they started with; new containers of functions that declare it fail to start.",
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def delete_secret(
        self, session: DbSession, principal: Caller, state: State, name: FromPath[str]
    ) -> SecretOut:
        return secret_out(await _service(session, state).delete(principal.workspace_id, name))
