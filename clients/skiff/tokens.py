"""API tokens of the workspace: create one (its secret is shown once), list them, revoke one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from skiff.connection import Connection, default_connection, every_item
from skiff.exceptions import InvalidRequest
from skiff_client.api.tokens import create_token, list_tokens, revoke_token
from skiff_client.models.scope import Scope
from skiff_client.models.token_create import TokenCreate
from skiff_client.models.token_created import TokenCreated
from skiff_client.models.token_kind import TokenKind
from skiff_client.models.token_out import TokenOut
from skiff_client.models.token_page import TokenPage
from skiff_client.types import UNSET, Unset

SCOPES = tuple(scope.value for scope in Scope)
KINDS = tuple(kind.value for kind in TokenKind)


def create(
    name: str, *, kind: str = "user", scopes: Sequence[str] = (), connection: Connection | None = None
) -> TokenCreated:
    """A new token; `token` on the answer is its secret, which the server never shows again."""
    if kind not in KINDS:
        raise InvalidRequest(f"token kind {kind!r} is unknown; kinds: {', '.join(KINDS)}")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise InvalidRequest(f"unknown scope(s) {', '.join(unknown)}; scopes: {', '.join(SCOPES)}")
    chosen: list[Scope] | Unset = [Scope(scope) for scope in scopes] if scopes else UNSET
    body = TokenCreate(name=name, kind=TokenKind(kind), scopes=chosen)
    key = uuid.uuid4().hex
    conn = connection or default_connection()
    return conn.send(lambda c: create_token.sync_detailed(client=c, body=body, idempotency_key=key), idempotent=True)


def list_all(*, connection: Connection | None = None) -> list[TokenOut]:
    """Every token of the workspace (secrets are never listed)."""
    conn = connection or default_connection()

    def fetch(cursor: str | Unset) -> TokenPage:
        return conn.send(lambda c: list_tokens.sync_detailed(client=c, cursor=cursor, limit=100), idempotent=True)

    return every_item(fetch)


def revoke(token_id: str, *, connection: Connection | None = None) -> TokenOut:
    """Revoke a token: requests with it fail from now on."""
    conn = connection or default_connection()
    return conn.send(lambda c: revoke_token.sync_detailed(token_id, client=c), idempotent=True)
