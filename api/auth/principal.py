"""Who is calling: the workspace and token behind a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.tokens.schemas import Scope, TokenKind

# What each scope lets a token do; admin can do everything.
SCOPE_GRANTS: dict[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset(Scope),
    Scope.DEPLOY: frozenset({Scope.DEPLOY, Scope.READ}),
    Scope.INVOKE: frozenset({Scope.INVOKE, Scope.READ}),
    Scope.READ: frozenset({Scope.READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    token_id: str
    kind: TokenKind
    scopes: frozenset[Scope]
    expires_at: datetime | None = None

    def allows(self, needed: Scope) -> bool:
        return any(needed in SCOPE_GRANTS[scope] for scope in self.scopes)
