"""Find the user's function in the bundle (its arguments and results: see ``payloads``)."""

from __future__ import annotations

import importlib
import types

from . import failures

try:
    from _functools import partial  # type: ignore[import-not-found]  # what `functools` re-exports, without its imports (~6 ms per cold start)
except ImportError:
    from functools import partial

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable


CO_COROUTINE = 0x80  # the code flag of an `async def`


class UserCodeError(Exception):
    """Something about the user's code or data that the runtime reports instead of crashing."""

    def __init__(self, error: failures.ErrorInfo) -> None:
        super().__init__(error["message"])
        self.error = error


def load_function(spec: str, role: str) -> Callable[..., Any]:
    """Import ``module:function`` (or ``module:Class.method``) from the bundle; errors say what to fix."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise UserCodeError(failures.problem("InvalidHandler", "%s %r must look like 'module:function'" % (role, spec)))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] and exc.name != module_name:
            raise UserCodeError(failures.describe(exc)) from None  # the module imports something missing
        message = "module %r not found in bundle (%s %r)" % (module_name, role, spec)
        raise UserCodeError(failures.problem("ModuleNotFoundError", message)) from None
    except BaseException as exc:  # syntax errors and import-time exceptions are the user's
        raise UserCodeError(failures.describe(exc)) from None
    function: Any = module
    for part in function_name.split("."):
        function = getattr(function, part, None)
    if not callable(function):
        found = sorted(
            n for n, v in vars(module).items() if isinstance(v, types.FunctionType) and not n.startswith("_")
        )
        message = "function %r not found in module %r; functions found: %s" % (
            function_name,
            module_name,
            ", ".join(found) or "none",
        )
        raise UserCodeError(failures.problem("FunctionNotFound", message))
    return function  # type: ignore[no-any-return]


def is_async(function: Callable[..., Any]) -> bool:
    """Like inspect.iscoroutinefunction, without importing inspect (~25 ms on a small machine)."""
    target: Any = function
    while isinstance(target, partial):
        target = target.func
    code = getattr(getattr(target, "__func__", target), "__code__", None)
    if code is None:  # a callable object: look at its __call__
        code = getattr(type(target).__call__, "__code__", None)
    return code is not None and bool(code.co_flags & CO_COROUTINE)
