"""JSON in and out through the interpreter's own C accelerators (``_json``), as ``json`` uses them.

Importing ``json`` imports ``re``, which brings ``enum`` and ``functools``: about 14 ms of every
fresh sandbox's start on a small machine, before the function's module is even read. The runtime
needs only ``loads`` and a compact ``dumps``, so it builds them from ``_json`` directly, the same
scanner and encoder ``json`` itself runs. An interpreter without ``_json`` gets ``json``.

Errors are ``ValueError`` (malformed text, NaN or a circular value to encode) or ``TypeError``
(a value JSON cannot carry), as from ``json``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable

WHITESPACE = " \t\n\r"
CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Options:
    """What ``_json.make_scanner`` reads from a decoder: json.loads' defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = CONSTANTS.__getitem__


def _refuse(value: Any) -> Any:
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in WHITESPACE:
        index += 1
    return index


try:
    from _json import encode_basestring, make_encoder, make_scanner
except ImportError:  # an interpreter without the accelerators
    import json

    def loads(text: str) -> Any:
        return json.loads(text)

    def dumps(value: Any, allow_nan: bool = True) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=allow_nan, separators=(",", ":"))

else:
    _scan: Callable[[str, int], Any] = make_scanner(_Options())  # type: ignore[arg-type]  # it reads the attributes

    def loads(text: str) -> Any:
        """A JSON document's value, as json.loads(text) gives it."""
        start = _skip_whitespace(text, 0)
        try:
            value, end = _scan(text, start)
        except StopIteration as stop:
            raise ValueError("Expecting value: char %d" % stop.value) from None
        except Exception:  # malformed inside a value: `json` says where (before 3.12 the scanner needs it to)
            import json

            return json.loads(text)  # raises its JSONDecodeError, a ValueError
        end = _skip_whitespace(text, end)
        if end != len(text):
            raise ValueError("Extra data: char %d" % end)
        return value

    def dumps(value: Any, allow_nan: bool = True) -> str:
        """json.dumps(value, ensure_ascii=False, allow_nan=allow_nan, separators=(",", ":"))."""
        if isinstance(value, str):
            return encode_basestring(value)
        encode = make_encoder({}, _refuse, encode_basestring, None, ":", ",", False, False, allow_nan)
        return "".join(encode(value, 0))
