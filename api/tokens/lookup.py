"""Checking a bearer token: its row read, and its last use noted at most once per interval, in one
statement on the request path's pool (no ORM session, no transaction of its own).

Every request after the principal cache's window (SKIFF_TOKEN_CACHE_SECONDS) pays for this: a
cold call, and each of an agent's polls.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import asyncpg

from api.auth.principal import Principal
from api.errors import Unauthorized
from api.tokens import secrets
from api.tokens.schemas import Scope, TokenKind

# `scopes` as text[]: a varchar[] would cost each new connection a type lookup (see api.calls.store).
LOOKUP = """
WITH found AS (
    SELECT id, workspace_id, kind, scopes::text[] AS scopes, prefix, secret_hash, expires_at, last_used_at, revoked_at
    FROM tokens WHERE secret_hash = $1
), touched AS (
    UPDATE tokens t SET last_used_at = now()
    FROM found
    WHERE t.id = found.id AND found.revoked_at IS NULL AND (found.expires_at IS NULL OR found.expires_at > now())
        AND (found.last_used_at IS NULL OR found.last_used_at <= now() - $2::interval)
)
SELECT * FROM found
"""


async def authenticate(pool: asyncpg.Pool, plaintext: str, touch_interval: timedelta) -> Principal:
    """The principal of a valid token; Unauthorized saying why for any other."""
    if not secrets.is_well_formed(plaintext):
        raise Unauthorized("malformed token: Skiff tokens look like sk_… (users) or nk_… (nodes), 46 characters")
    wanted = secrets.digest(plaintext)
    token = await pool.fetchrow(LOOKUP, wanted, touch_interval)
    if token is None or not hmac.compare_digest(token["secret_hash"], wanted):
        raise Unauthorized("unknown token: it was never issued by this server or its workspace was deleted")
    if token["revoked_at"] is not None:
        raise Unauthorized(f"token {token['prefix']}… was revoked at {token['revoked_at'].isoformat()}")
    if token["expires_at"] is not None and token["expires_at"] <= datetime.now(UTC):
        raise Unauthorized(f"token {token['prefix']}… expired at {token['expires_at'].isoformat()}")
    return Principal(
        workspace_id=token["workspace_id"],
        token_id=token["id"],
        kind=TokenKind(token["kind"]),
        scopes=frozenset(Scope(s) for s in token["scopes"]),
        expires_at=token["expires_at"],
    )
