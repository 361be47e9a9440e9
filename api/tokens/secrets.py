"""Token plaintexts: generation, hashing and the shape check done before any lookup."""

from __future__ import annotations

import hashlib
import re
import secrets

USER_PREFIX = "sk_"
NODE_PREFIX = "nk_"
_SECRET_BYTES = 32
_SHAPE = re.compile(r"^(sk|nk)_[A-Za-z0-9_-]{43}$")
DISPLAY_PREFIX_LENGTH = 10


def generate(kind_prefix: str) -> str:
    return kind_prefix + secrets.token_urlsafe(_SECRET_BYTES)


def digest(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode()).digest()


def is_well_formed(plaintext: str) -> bool:
    return bool(_SHAPE.match(plaintext))
