"""Arguments and results on the wire: JSON when JSON carries the values exactly, cloudpickle otherwise.

Arguments are sent as JSON when they are made of JSON's own types (so that any caller, in any
language, sees the same call), and pickled otherwise: a tuple, a set, a dataclass, an int dict key,
an enum arrive as themselves. The platform never decodes a pickle; the function's sandbox does.

A result comes back pickled when JSON cannot carry it (`result_type` says so); it is unpickled here,
in the calling process, the one place outside a sandbox where Skiff unpickles: calling a function
means trusting its code, and its results are that code's output. A class is pickled by reference
when the receiving side can import its module (an app module is in the bundle and in the caller);
one defined in `__main__` travels by value, which needs the same Python version on both sides.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import cloudpickle

PICKLE = "application/vnd.skiff.pickle"


def is_exact_json(value: Any) -> bool:
    """Whether JSON carries the value as it is: only dict (str keys), list, str, int, float (finite),
    bool and None, of exactly these types; no container met twice (pickle keeps sharing and cycles)."""
    seen: set[int] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float:
            if not math.isfinite(item):
                return False
            continue
        if (kind is not list and kind is not dict) or id(item) in seen:
            return False
        seen.add(id(item))
        if kind is list:
            pending.extend(item)
        elif all(type(key) is str for key in item):
            pending.extend(item.values())
        else:
            return False
    return True


def json_carries(args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """Whether the arguments can go as JSON and arrive as they are."""
    return is_exact_json(list(args)) and is_exact_json(dict(kwargs))


def pickle_arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> bytes:
    """The bytes of `cloudpickle.dumps((args, kwargs))`; raises TypeError naming the first argument
    that cannot be pickled."""
    try:
        return cloudpickle.dumps((tuple(args), dict(kwargs)))  # type: ignore[no-any-return]
    except Exception as exc:
        named = [(f"positional argument {i}", v) for i, v in enumerate(args)]
        named += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
        for what, value in named:
            try:
                cloudpickle.dumps(value)
            except Exception as cause:
                raise TypeError(
                    f"{what} ({type(value).__name__}) cannot be sent: it is not JSON and cannot be pickled: {cause}"
                ) from exc
        raise TypeError(f"the arguments cannot be sent: they cannot be pickled: {exc}") from exc


def unpickled_result(result_b64: str) -> Any:
    """A result that came back pickled (`result_b64`), as the Python value the function returned."""
    return cloudpickle.loads(base64.b64decode(result_b64))
