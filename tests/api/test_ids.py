"""Ids: the body is the 128-bit value (milliseconds, then random bits) as 26 Crockford base32 digits."""

from __future__ import annotations

import random
import time

import pytest

from api import ids


def digits_of(value: int) -> str:
    """The body of an id, digit by digit: the definition `new_id` must agree with."""
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(ids._ALPHABET[digit])
    return "".join(reversed(chars))


class FixedSource:
    """Stands in for the module's `time` and `os`: one value's milliseconds and random bytes."""

    def __init__(self, value: int) -> None:
        self.value = value

    def time_ns(self) -> int:
        return (self.value >> 80) * 1_000_000

    def urandom(self, n: int) -> bytes:
        return (self.value & (1 << 80) - 1).to_bytes(n, "big")


def test_the_body_is_the_value_in_base32(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    for bits in [0, 1, 48, 80, 127, 128] * 200:
        source = FixedSource(rng.getrandbits(bits) if bits else 0)
        monkeypatch.setattr(ids, "time", source)
        monkeypatch.setattr(ids, "os", source)
        assert ids.new_id("call") == f"call_{digits_of(source.value)}"


def test_ids_are_valid_and_sort_by_creation_time() -> None:
    made = []
    for _ in range(3):
        made.append(ids.new_id("call"))
        time.sleep(0.002)
    assert all(ids.is_valid_id(made_id, "call") for made_id in made)
    assert made == sorted(made) and len(set(made)) == 3
