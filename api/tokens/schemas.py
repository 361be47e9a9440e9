"""Request and response bodies of the tokens API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec


class Scope(StrEnum):
    ADMIN = "admin"
    DEPLOY = "deploy"
    INVOKE = "invoke"
    READ = "read"


class TokenKind(StrEnum):
    USER = "user"
    NODE = "node"


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:@-]*$")]


class TokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new token. `scopes` applies to user tokens; node tokens reach only the agent routes."""

    name: Name
    kind: TokenKind = TokenKind.USER
    scopes: Annotated[list[Scope], msgspec.Meta(max_length=4)] = msgspec.field(default_factory=lambda: [Scope.READ])
    expires_at: datetime | None = None


class TokenOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: TokenKind
    scopes: list[Scope]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut, kw_only=True):
    """The created token; `token` holds the plaintext, shown only in this response."""

    token: str | None


class TokenPage(msgspec.Struct, kw_only=True):
    items: list[TokenOut]
    next_cursor: str | None
