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


# Every pair of digits, by its 10-bit value: an id's body is 13 lookups.
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]
_PAIR_SHIFTS = range(10 * (_BODY_LEN // 2 - 1), -1, -10)


def new_id(prefix: str) -> str:
    """48 bits of milliseconds then 80 random bits, as 26 base32 digits."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return prefix + "_" + "".join([_PAIRS[value >> shift & 1023] for shift in _PAIR_SHIFTS])


def is_valid_id(value: str, prefix: str) -> bool:
    return (
        len(value) == len(prefix) + 1 + _BODY_LEN and value.startswith(prefix + "_") and bool(ID_PATTERN.match(value))
    )
