"""Creating, listing, revoking and checking tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound, Unprocessable
from api.ids import is_valid_id, new_id
from api.pagination import page_query, split_page
from api.tokens import secrets
from api.tokens.models import Token
from api.tokens.schemas import Scope, TokenCreate, TokenCreated, TokenKind, TokenOut

ID_PREFIX = "tok"


def token_out(token: Token) -> TokenOut:
    return TokenOut(**_token_fields(token))


def token_created(token: Token, plaintext: str | None) -> TokenCreated:
    return TokenCreated(**_token_fields(token), token=plaintext)


def _token_fields(token: Token) -> dict[str, Any]:
    return dict(
        id=token.id,
        name=token.name,
        kind=TokenKind(token.kind),
        scopes=[Scope(s) for s in token.scopes],
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


class TokenService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, workspace_id: str, spec: TokenCreate) -> tuple[Token, str]:
        """Returns the stored token and its plaintext, which is not kept anywhere."""
        if spec.kind is TokenKind.NODE and spec.scopes not in ([], [Scope.READ]):
            raise Unprocessable("node tokens take no scopes: they can only call the agent routes")
        if spec.kind is TokenKind.USER and not spec.scopes:
            raise Unprocessable("a user token needs at least one scope of: admin, deploy, invoke, read")
        if spec.expires_at is not None and spec.expires_at.tzinfo is None:
            raise Unprocessable("expires_at must carry a timezone, e.g. 2027-01-01T00:00:00Z")
        if spec.expires_at is not None and spec.expires_at <= datetime.now(UTC):
            raise Unprocessable("expires_at must be in the future")
        plaintext = secrets.generate(secrets.NODE_PREFIX if spec.kind is TokenKind.NODE else secrets.USER_PREFIX)
        token = Token(
            id=new_id(ID_PREFIX),
            workspace_id=workspace_id,
            kind=spec.kind.value,
            name=spec.name,
            scopes=[] if spec.kind is TokenKind.NODE else sorted({s.value for s in spec.scopes}),
            prefix=plaintext[: secrets.DISPLAY_PREFIX_LENGTH],
            secret_hash=secrets.digest(plaintext),
            expires_at=spec.expires_at,
        )
        self.session.add(token)
        await self.session.flush()
        await self.session.refresh(token)
        return token, plaintext

    async def get(self, workspace_id: str, token_id: str) -> Token:
        token = None
        if is_valid_id(token_id, ID_PREFIX):
            token = await self.session.scalar(
                select(Token).where(Token.workspace_id == workspace_id, Token.id == token_id)
            )
        if token is None:
            raise NotFound(f"token {token_id[:64]!r} not found")
        return token

    async def list(self, workspace_id: str, cursor: str | None, limit: int) -> tuple[list[Token], str | None]:
        stmt = page_query(select(Token).where(Token.workspace_id == workspace_id), Token.id, cursor, limit)
        rows = (await self.session.scalars(stmt)).all()
        return split_page(rows, limit, lambda t: t.id)

    async def revoke(self, workspace_id: str, token_id: str) -> Token:
        token = await self.get(workspace_id, token_id)
        if token.revoked_at is None:
            token.revoked_at = await self.session.scalar(select(func.now()))
            await self.session.flush()
        return token
