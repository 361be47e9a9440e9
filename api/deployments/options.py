"""A function's resource and policy options in `skiff.toml`: numeric ranges, GPU requests, retries.

Readers record problems in an `Issues` list instead of raising, so one deploy reports them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec

from api.deployments.errors import FieldIssue

MAX_GPU_OPTIONS = 8
GPU_COUNTS = range(1, 9)
_GPU_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


class Issues:
    """Problems found so far, in the order found."""

    def __init__(self) -> None:
        self._items: list[FieldIssue] = []

    def add(self, field: str, message: str) -> None:
        self._items.append(FieldIssue(field, message))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[FieldIssue]:
        return iter(self._items)


class Bound(msgspec.Struct, frozen=True):
    """The allowed closed range of a numeric option, its default and unit."""

    low: float
    high: float
    default: float
    unit: str
    integer: bool = True

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        low, high = (int(self.low), int(self.high)) if self.integer else (self.low, self.high)
        return f"allowed {low}..{high} ({self.unit})"


FUNCTION_NUMBERS: dict[str, Bound] = {
    "cpu": Bound(0.125, 64, 1.0, "CPU cores", integer=False),
    "memory": Bound(128, 262_144, 1024, "MiB"),
    "timeout": Bound(1, 86_400, 300, "seconds per attempt"),
    "min_containers": Bound(0, 1000, 0, "containers"),
    "max_containers": Bound(1, 1000, 8, "containers"),
    "buffer_containers": Bound(0, 100, 0, "containers"),
    "max_inputs": Bound(1, 1000, 1, "concurrent inputs per container"),
    "scaledown_window": Bound(2, 86_400, 60, "seconds"),
    "max_pending": Bound(1, 1_000_000, 10_000, "queued calls"),
}
RETRY_NUMBERS: dict[str, Bound] = {
    "max_retries": Bound(0, 10, 0, "retries"),
    "backoff_coefficient": Bound(1.0, 10.0, 2.0, "multiplier", integer=False),
    "initial_delay": Bound(0.0, 60.0, 1.0, "seconds", integer=False),
    "max_delay": Bound(1.0, 3600.0, 60.0, "seconds", integer=False),
}


class GpuOption(msgspec.Struct, frozen=True):
    """One acceptable GPU shape: a model (None means any model) and how many of it."""

    model: str | None
    count: int = 1


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How failed attempts are retried: exponential backoff from `initial_delay` up to `max_delay`."""

    max_retries: int = 0
    backoff_coefficient: float = 2.0
    initial_delay: float = 1.0
    max_delay: float = 60.0
    retry_on_user_error: bool = True  # Modal's `retries=N` retries user exceptions too


def type_name(value: object) -> str:
    """The TOML name of a parsed value's type, for messages."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def read_int(table: dict[str, Any], key: str, path: str, bound: Bound, issues: Issues) -> int:
    value = table.get(key, bound.default)
    if isinstance(value, bool) or not isinstance(value, int):
        issues.add(path, f"expected an integer, got {type_name(value)} {value!r}; {bound.describe()}")
        return int(bound.default)
    if not bound.contains(value):
        issues.add(path, f"{value} is out of range; {bound.describe()}")
    return value


def read_float(table: dict[str, Any], key: str, path: str, bound: Bound, issues: Issues) -> float:
    value = table.get(key, bound.default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.add(path, f"expected a number, got {type_name(value)} {value!r}; {bound.describe()}")
        return bound.default
    if not bound.contains(value):  # NaN fails this too
        issues.add(path, f"{value} is out of range; {bound.describe()}")
    return float(value)


def read_bool(table: dict[str, Any], key: str, path: str, default: bool, issues: Issues) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        issues.add(path, f"expected true or false, got {type_name(value)} {value!r}")
        return default
    return value


def read_gpu(value: object, path: str, issues: Issues) -> tuple[GpuOption, ...]:
    """`"H100"`, `"H100:2"`, `"any"` or a list of fallbacks in order of preference."""
    if value is None:
        return ()
    if isinstance(value, str):
        option = _gpu_option(value, path, issues)
        return (option,) if option else ()
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_GPU_OPTIONS:
        forms = f'"MODEL", "MODEL:COUNT", "any" or a list of 1..{MAX_GPU_OPTIONS} of them, e.g. ["H100", "A100-80GB"]'
        issues.add(path, f"expected {forms}; got {type_name(value)}")
        return ()
    options: list[GpuOption] = []
    for index, item in enumerate(value):
        option = _gpu_option(item, f"{path}[{index}]", issues)
        if option and option in options:
            issues.add(f"{path}[{index}]", f"{item!r} is listed twice")
        elif option:
            options.append(option)
    return tuple(options)


def _gpu_option(item: object, path: str, issues: Issues) -> GpuOption | None:
    if not isinstance(item, str):
        issues.add(path, f'expected a string such as "H100" or "H100:2", got {type_name(item)}')
        return None
    model, sep, count_text = item.partition(":")
    if _GPU_MODEL.fullmatch(model) is None:
        issues.add(path, f'{item!r} is not a GPU request; use "MODEL", "MODEL:COUNT" or "any", e.g. "H100:2"')
        return None
    count = int(count_text) if count_text.isdigit() and len(count_text) <= 3 else -1
    if sep and count not in GPU_COUNTS:
        issues.add(
            path,
            f"GPU count {count_text!r} is out of range; allowed {GPU_COUNTS.start}..{GPU_COUNTS.stop - 1}",
        )
        return None
    # GPU models are matched case-insensitively, the way users write them ("h100", "a100-80gb").
    return GpuOption(model=None if model.lower() == "any" else model.upper(), count=count if sep else 1)


def read_retries(value: object, path: str, issues: Issues) -> RetryPolicy:
    """An integer (the number of retries) or a table with the full policy."""
    if value is None:
        return RetryPolicy()
    if isinstance(value, int) and not isinstance(value, bool):
        count = read_int({"max_retries": value}, "max_retries", path, RETRY_NUMBERS["max_retries"], issues)
        return RetryPolicy(max_retries=count)
    if not isinstance(value, dict):
        issues.add(path, f"expected an integer or a table {{ max_retries = 3, ... }}, got {type_name(value)}")
        return RetryPolicy()
    allowed = (*RETRY_NUMBERS, "retry_on_user_error")
    for key in value:
        if key not in allowed:
            issues.add(path, f"unknown key {key!r}; allowed keys: {', '.join(sorted(allowed))}")
    delays = {key: read_float(value, key, f"{path}.{key}", RETRY_NUMBERS[key], issues) for key in RETRY_NUMBERS}
    policy = RetryPolicy(
        max_retries=read_int(value, "max_retries", f"{path}.max_retries", RETRY_NUMBERS["max_retries"], issues),
        backoff_coefficient=delays["backoff_coefficient"],
        initial_delay=delays["initial_delay"],
        max_delay=delays["max_delay"],
        retry_on_user_error=read_bool(value, "retry_on_user_error", f"{path}.retry_on_user_error", True, issues),
    )
    if policy.initial_delay > policy.max_delay:
        issues.add(f"{path}.initial_delay", f"{policy.initial_delay} is more than max_delay ({policy.max_delay})")
    return policy
