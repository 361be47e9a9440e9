"""Object ids: a type prefix and a time-ordered, URL-safe body (`tok_01jd…`).

Ids sort by creation time, which cursor pagination relies on.
"""

from __future__ import annotations

import base64
import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_BODY_LEN = 26
ID_PATTERN = re.compile(r"^[a-z]{2,8}_[0-9a-hjkmnp-tv-z]{26}$")


# RFC 4648's base32 digits, in order, to ours: the standard encoder (C) does the arithmetic.
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new_id(prefix: str) -> str:
    """48 bits of milliseconds then 80 random bits, as 26 base32 digits."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    # 128 bits after 32 zero bits: 160 bits encode to 32 digits, of which the last 26 are the value's.
    digits = base64.b32encode(bytes(4) + stamp + os.urandom(10)).translate(_FROM_RFC4648)
    return f"{prefix}_{digits[-_BODY_LEN:].decode()}"


def is_valid_id(value: str, prefix: str) -> bool:
    return (
        len(value) == len(prefix) + 1 + _BODY_LEN and value.startswith(prefix + "_") and bool(ID_PATTERN.match(value))
    )
