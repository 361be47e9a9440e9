"""Route guards: who is calling (the bearer token), and what kind of token and scope a route needs.

Authentication is a guard, not a middleware, so its errors go through the same problem+json
handlers and metrics as every other error. Routes marked `opt={"public": True}` skip it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.auth.cache import PrincipalCache
from api.auth.principal import Principal
from api.calls.store import CallStore
from api.errors import Forbidden, Unauthorized
from api.tokens import lookup as tokens
from api.tokens import secrets
from api.tokens.schemas import Scope, TokenKind

Connection = ASGIConnection[Any, Any, Any, Any]
# Guards are coroutines: Litestar runs a plain function in a worker thread, a hop on every request.
Guard = Callable[[Connection, BaseRouteHandler], Awaitable[None]]


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized("missing bearer token: send `Authorization: Bearer sk_…`")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("malformed Authorization header: expected `Bearer <token>`")
    return value.strip()


async def authenticate(connection: Connection, handler: BaseRouteHandler) -> None:
    if handler.opt.get("public"):
        return
    plaintext = bearer_token(connection.headers.get("authorization"))
    state = connection.app.state
    cache: PrincipalCache = state.principals
    digest = secrets.digest(plaintext) if secrets.is_well_formed(plaintext) else None
    principal = cache.get(digest) if digest is not None else None
    if principal is None:
        interval = timedelta(seconds=state.settings.token_touch_interval_seconds)
        store: CallStore = state.store
        principal = await tokens.authenticate(await store.pool(), plaintext, interval)
        if digest is not None:
            left = (principal.expires_at - datetime.now(UTC)).total_seconds() if principal.expires_at else None
            cache.put(digest, principal, left)
    connection.scope["user"] = principal


def requires(scope: Scope) -> Guard:
    """A user token holding `scope` (or one that grants it)."""

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.kind is not TokenKind.USER:
            raise Forbidden("node tokens (nk_) can only call the agent routes; use a user token (sk_)")
        if not principal.allows(scope):
            held = ", ".join(sorted(principal.scopes)) or "none"
            raise Forbidden(f"this route needs the `{scope.value}` scope; the token has: {held}")

    return guard


async def node_only(connection: Connection, _: BaseRouteHandler) -> None:
    principal: Principal = connection.user
    if principal.kind is not TokenKind.NODE:
        raise Forbidden("agent routes need a node token (nk_); create one with kind=node")
