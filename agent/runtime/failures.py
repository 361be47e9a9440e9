"""Turn exceptions from user code into the error objects the agent reports.

Tracebacks show only the user's frames: the runtime's own frames (and importlib's, for import
errors) are noise to someone debugging their function.
"""

from __future__ import annotations

import importlib
import os

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    ErrorInfo = Dict[str, Any]


# os.path, not pathlib: importing pathlib would add milliseconds to every cold start.
RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))  # noqa: PTH100, PTH120
IMPORTLIB_DIR = os.path.dirname(importlib.__file__ or "")  # noqa: PTH120  # import_module's frame
MAX_MESSAGE_CHARS = 8 * 1024
MAX_TRACEBACK_CHARS = 64 * 1024


def problem(type_name: str, message: str) -> ErrorInfo:
    """An error the runtime detected itself (bad input, unserialisable result): no traceback."""
    return {"type": type_name, "message": _clip(message, MAX_MESSAGE_CHARS), "traceback": ""}


def describe(exc: BaseException) -> ErrorInfo:
    return {
        "type": exception_type_name(exc),
        "message": _clip(_safe_str(exc), MAX_MESSAGE_CHARS),
        "traceback": _clip(user_traceback(exc), MAX_TRACEBACK_CHARS),
    }


def exception_type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def user_traceback(exc: BaseException) -> str:
    # traceback costs ~4 ms to import; only failing inputs pay for it.
    import traceback

    report = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    seen = set()
    pending: List[Optional[traceback.TracebackException]] = [report]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.stack = traceback.StackSummary.from_list([f for f in item.stack if _is_user_frame(f.filename)])
        pending.extend([item.__cause__, item.__context__])
    return "".join(report.format())


def _is_user_frame(filename: str) -> bool:
    if filename.startswith("<frozen importlib"):
        return False
    path = os.path.abspath(filename)  # noqa: PTH100
    return not path.startswith(RUNTIME_DIR + os.sep) and not path.startswith(IMPORTLIB_DIR + os.sep)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a user __str__ that raises must not take the runtime down
        return "<%s: str() failed>" % type(exc).__name__


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit // 2] + "\n[... %d characters truncated ...]\n" % (len(text) - limit) + text[-limit // 2 :]
