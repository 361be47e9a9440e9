"""Arguments in, results out: JSON, or pickled bytes for Python values JSON cannot carry.

The only place in Skiff outside the caller's own process that unpickles: inside the sandbox, and
only an input whose content type says it is pickled. cloudpickle is used when the function's
environment (or the platform, through ``--packages``) provides it; plain pickle otherwise.

A result is JSON whenever JSON can carry it; otherwise it is pickled. When the input was pickled,
the caller is a Python process that wants its values back as they were, so JSON is used only for a
value made of JSON's own types (no tuple, no subclass, no non-str key): it decodes to the same value.
"""

from __future__ import annotations

import math

from . import failures, frames, plainjson
from .handler import UserCodeError

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple

    Arguments = Tuple[List[Any], Dict[str, Any]]
    Encoded = Tuple[str, bytes]  # (content type, bytes)


def decode_arguments(content_type: str, payload: bytes) -> Arguments:
    if content_type == frames.CONTENT_JSON:
        try:
            body = plainjson.loads(payload.decode("utf-8")) if payload else {}
        except ValueError as exc:
            raise UserCodeError(failures.problem("InvalidInput", "input is not valid JSON: %s" % exc)) from None
        if not isinstance(body, dict):
            raise UserCodeError(failures.problem("InvalidInput", 'input must be {"args": [...], "kwargs": {...}}'))
        args, kwargs = body.get("args", []), body.get("kwargs", {})
    elif content_type == frames.CONTENT_PICKLE:
        args, kwargs = _unpickle_arguments(payload)
    else:
        raise UserCodeError(failures.problem("InvalidInput", "unsupported content type %r" % content_type))
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise UserCodeError(failures.problem("InvalidInput", "args must be a list and kwargs an object"))
    return args, kwargs


def _unpickle_arguments(payload: bytes) -> Tuple[Any, Any]:
    try:
        import cloudpickle

        loads: Callable[[bytes], Any] = cloudpickle.loads
    except ImportError:
        import pickle

        loads = pickle.loads
    try:
        value = loads(payload)
    except Exception as exc:
        raise UserCodeError(failures.describe(exc)) from None
    if not isinstance(value, tuple) or len(value) != 2:
        raise UserCodeError(failures.problem("InvalidInput", "a pickled input must be a tuple (args, kwargs)"))
    return list(value[0]) if isinstance(value[0], tuple) else value[0], value[1]


def encode_result(value: Any, max_bytes: int, exact: bool = False) -> Encoded:
    """(content type, bytes) of the result; `exact` when the input was pickled (see the module's doc)."""
    reason = "it is not made of JSON types only"
    if not exact or is_exact_json(value):
        try:
            text = plainjson.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            reason = str(exc) or type(exc).__name__
        else:
            return _within(frames.CONTENT_JSON, text.encode("utf-8"), max_bytes, "JSON")
    try:
        pickled = _pickle(value)
    except Exception as exc:  # PicklingError, TypeError, RecursionError, or a __reduce__ that raised
        message = "result of type %s is not JSON-serialisable (%s) and cannot be pickled: %s" % (
            type(value).__name__,
            reason,
            failures.describe(exc)["message"] or type(exc).__name__,
        )
        raise UserCodeError(failures.problem("ResultNotSerialisable", message)) from None
    return _within(frames.CONTENT_PICKLE, pickled, max_bytes, "pickle")


def _pickle(value: Any) -> bytes:
    try:
        import cloudpickle

        dumps: Callable[[Any], bytes] = cloudpickle.dumps
    except ImportError:
        import pickle

        dumps = pickle.dumps
    return dumps(value)


def _within(content_type: str, encoded: bytes, max_bytes: int, form: str) -> Encoded:
    if len(encoded) > max_bytes:
        message = "result is %d bytes of %s; the limit is %d bytes" % (len(encoded), form, max_bytes)
        raise UserCodeError(failures.problem("ResultTooLarge", message))
    return content_type, encoded


def is_exact_json(value: Any) -> bool:
    """Whether JSON carries the value as it is: only dict (str keys), list, str, int, float (finite),
    bool and None, of exactly these types; no container met twice (pickle keeps sharing and cycles)."""
    seen = set()
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
        if kind is not list and kind is not dict:
            return False
        if id(item) in seen:
            return False
        seen.add(id(item))
        if kind is list:
            pending.extend(item)
        else:
            if any(type(key) is not str for key in item):
                return False
            pending.extend(item.values())
    return True
