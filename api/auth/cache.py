"""Recently verified tokens, kept for a moment so that a burst of requests costs one lookup.

Revoking a token forgets it here at once; other API processes forget it within `ttl` seconds
(SKIFF_TOKEN_CACHE_SECONDS), which is how long a revoked token may still work elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from api.auth.principal import Principal

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    until: float


class PrincipalCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[bytes, _Entry] = {}

    def get(self, digest: bytes) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or entry.until < time.monotonic():
            return None
        return entry.principal

    def put(self, digest: bytes, principal: Principal, valid_for: float | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # bounded memory beats a perfect hit rate
        lifetime = self.ttl if valid_for is None else min(self.ttl, valid_for)
        self._entries[digest] = _Entry(principal, time.monotonic() + lifetime)

    def forget(self, token_id: str) -> None:
        self._entries = {d: e for d, e in self._entries.items() if e.principal.token_id != token_id}
