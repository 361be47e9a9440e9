"""The `skiff` that a function's own code imports inside its sandbox, where the SDK is not installed.

Bundles carry this file as `skiff/__init__.py`: the app module's `import skiff`, `skiff.App(...)`,
`@app.function(...)` and `@app.cls(...)` then work there, and each decorator hands back the plain
function or class, which the runtime calls. `@skiff.method`, `@skiff.enter` and `@skiff.exit` mark
a class's functions as the SDK does: the runtime reads the enter and exit marks. It is standard
library only, and runs on any Python the runtime supports.
Calling other functions from inside a function (`.remote()` there) is not supported yet.
"""

from __future__ import annotations  # modern annotations stay strings on Python 3.9

from collections.abc import Callable
from typing import Any


class Error(Exception):
    """Base class of the SDK's errors (only named here, so that user code that catches them imports)."""


class AuthError(Error):
    """See the SDK."""


class NotFound(Error):
    """See the SDK."""


class InvalidRequest(Error, ValueError):
    """See the SDK."""


class PayloadTooLarge(Error):
    """See the SDK."""


class RateLimited(Error):
    """See the SDK."""


class Unavailable(Error):
    """See the SDK."""


class RemoteError(Error):
    """See the SDK."""


class FunctionTimeout(RemoteError):
    """See the SDK."""


class CallTimeout(Error, TimeoutError):
    """See the SDK."""


class CallCancelled(Error):
    """See the SDK."""


class Image:
    """Read by the SDK when deploying; inert in the sandbox."""

    def __init__(self, **options: Any) -> None:
        self.options = options


class Retries:
    """Read by the SDK when deploying; inert in the sandbox."""

    def __init__(self, max_retries: int, **options: Any) -> None:
        self.max_retries = max_retries
        self.options = options


class App:
    """In the sandbox, `@app.function(...)` returns the function itself, for the runtime to call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.registered_functions: dict[str, Callable[..., Any]] = {}

    def function(self, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.registered_functions[func.__name__] = func
            return func

        return register

    def cls(self, **options: Any) -> Callable[[type], type]:
        def register(user_cls: type) -> type:
            for name, value in vars(user_cls).items():
                if getattr(value, METHOD_MARK, False) is True:
                    self.registered_functions[f"{user_cls.__name__}-{name}"] = value
            return user_cls

        return register

    def deploy(self, **options: Any) -> None:
        raise Error("deploying from inside a function is not supported")


METHOD_MARK = "__skiff_method__"
ENTER_MARK = "__skiff_enter__"
EXIT_MARK = "__skiff_exit__"


def _mark(mark: str, func: Callable[..., Any] | None) -> Any:
    def apply(target: Callable[..., Any]) -> Callable[..., Any]:
        setattr(target, mark, True)
        return target

    return apply if func is None else apply(func)


def method(func: Callable[..., Any] | None = None) -> Any:
    """`@skiff.method`: a method of an `@app.cls` class that is a function of the app."""
    return _mark(METHOD_MARK, func)


def enter(func: Callable[..., Any] | None = None) -> Any:
    """`@skiff.enter`: the runtime runs it once per container, before the first input."""
    return _mark(ENTER_MARK, func)


def exit(func: Callable[..., Any] | None = None) -> Any:
    """`@skiff.exit`: the runtime runs it when the container stops."""
    return _mark(EXIT_MARK, func)


class Function:
    """Calling deployed functions from inside a function is not supported yet."""

    @classmethod
    def from_name(cls, app_name: str, name: str) -> Function:
        raise Error("calling other Skiff functions from inside a function is not supported yet")

    lookup = from_name


class Cls:
    """Calling deployed classes from inside a function is not supported yet."""

    @classmethod
    def from_name(cls, app_name: str, name: str) -> Cls:
        raise Error("calling other Skiff functions from inside a function is not supported yet")


class FunctionCall:
    """Not available inside a function yet."""

    @classmethod
    def from_id(cls, call_id: str, connection: Any | None = None) -> FunctionCall:
        raise Error("reading calls from inside a function is not supported yet")
