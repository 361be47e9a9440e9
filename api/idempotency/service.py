"""`Idempotency-Key` semantics (Stripe's): same key and body → the same object; other body → 422.

The key row is inserted in the transaction that creates the object, so a crash between the two
leaves neither. A concurrent request with the same key waits on the row's unique index until the
first commits, then reads what it created.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import msgspec
from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadRequest, Unprocessable
from api.idempotency.models import IdempotencyKey

MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


def request_digest(body: object) -> bytes:
    """Digest of a parsed request body; key order and whitespace do not matter."""
    return hashlib.sha256(msgspec.json.encode(msgspec.to_builtins(body), order="sorted")).digest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


async def purge_expired(session: AsyncSession, retention: timedelta = RETENTION) -> int:
    """Forget keys older than the retention period; a later reuse then creates a new object."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < func.now() - literal(retention))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class IdempotencyService:
    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def claim(self, operation: str, key: str, digest: bytes) -> str | None:
        """None if this request is the key's first use (call `record` after creating); else the earlier id."""
        inserted = await self.session.scalar(
            insert(IdempotencyKey)
            .values(workspace_id=self.workspace_id, operation=operation, key=check_key(key), request_digest=digest)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        )
        if inserted is not None:
            return None
        row = (
            await self.session.execute(
                select(IdempotencyKey.request_digest, IdempotencyKey.resource_id).where(
                    IdempotencyKey.workspace_id == self.workspace_id,
                    IdempotencyKey.operation == operation,
                    IdempotencyKey.key == key,
                )
            )
        ).one()
        if row.request_digest != digest:
            raise Unprocessable(
                f"Idempotency-Key {key!r} was already used with a different request body; "
                "use a new key for a different request"
            )
        if row.resource_id is None:
            raise Unprocessable(f"Idempotency-Key {key!r} belongs to a request that did not create anything")
        return str(row.resource_id)

    async def record(self, operation: str, key: str, resource_id: str) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.workspace_id == self.workspace_id,
                IdempotencyKey.operation == operation,
                IdempotencyKey.key == key,
            )
            .values(resource_id=resource_id)
        )
