"""Object ids: a type prefix and a time-ordered, URL-safe body (`tok_01jd…`).

Ids sort by creation time, which cursor pagination relies on.
"""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_BODY_LEN = 26
ID_PATTERN = re.compile(r"^[a-z]{2,8}_[0-9a-hjkmnp-tv-z]{26}$")


def new_id(prefix: str) -> str:
    """48 bits of milliseconds then 80 random bits, as 26 base32 digits."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(_BODY_LEN):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


def is_valid_id(value: str, prefix: str) -> bool:
    return (
        len(value) == len(prefix) + 1 + _BODY_LEN and value.startswith(prefix + "_") and bool(ID_PATTERN.match(value))
    )
