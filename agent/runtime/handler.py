"""Find the user's function in the bundle, decode its arguments and encode its result."""

from __future__ import annotations

import functools
import importlib
import json
import types

from . import failures, frames

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple

    Arguments = Tuple[List[Any], Dict[str, Any]]


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
    while isinstance(target, functools.partial):
        target = target.func
    code = getattr(getattr(target, "__func__", target), "__code__", None)
    if code is None:  # a callable object: look at its __call__
        code = getattr(type(target).__call__, "__code__", None)
    return code is not None and bool(code.co_flags & CO_COROUTINE)


def decode_arguments(content_type: str, payload: bytes) -> Arguments:
    if content_type == frames.CONTENT_JSON:
        try:
            body = json.loads(payload.decode("utf-8")) if payload else {}
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
    # The only place in Skiff that unpickles: inside the sandbox, and only when the payload says so.
    try:
        import cloudpickle  # type: ignore[import-not-found]

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


def encode_result(value: Any, max_bytes: int) -> bytes:
    def reject(item: Any) -> Any:
        raise _Unserialisable(item is value, type(item).__name__)

    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=reject)
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        message = "result of type %s is not JSON-serialisable" % type(value).__name__
        if isinstance(exc, _Unserialisable):
            message += "" if exc.is_root else ": it contains a %s" % exc.type_name
        else:
            message += ": %s" % exc
        message += "; return JSON types (dict, list, str, int, float, bool, None)"
        raise UserCodeError(failures.problem("ResultNotSerialisable", message)) from None
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        message = "result is %d bytes of JSON; the limit is %d bytes" % (len(encoded), max_bytes)
        raise UserCodeError(failures.problem("ResultTooLarge", message))
    return encoded


class _Unserialisable(TypeError):
    def __init__(self, is_root: bool, type_name: str) -> None:
        super().__init__(type_name)
        self.is_root = is_root
        self.type_name = type_name
