"""`@app.cls`: a class whose `@skiff.method`s are functions, served on one instance per container.

@app.cls(gpu="H100", timeout=60)
class Model:
    @skiff.enter
    def load(self) -> None:            # once per container, before its first input
        self.weights = ...

    @skiff.method
    def predict(self, x: float) -> float:
        return x * self.weights

    @skiff.exit
    def close(self) -> None:            # when the container stops: best effort, a few seconds
        ...

Model().predict.remote(2.0)             # .spawn() and .map() too

Each method is deployed as the function `CLASS-METHOD` (`Model-predict`): the API's function names
take letters, digits, '_' and '-', not dots. A container makes its instance with no arguments.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from skiff.exceptions import Error, InvalidRequest
from skiff.functions import Function, check_app_name
from skiff.options import FUNCTION_NAME

F = TypeVar("F", bound=Callable[..., Any])

# The runtime (agent/runtime/classes.py) reads the enter and exit marks; the SDK never imports it.
METHOD_MARK = "__skiff_method__"
ENTER_MARK = "__skiff_enter__"
EXIT_MARK = "__skiff_exit__"
MARKS = {METHOD_MARK: "method", ENTER_MARK: "enter", EXIT_MARK: "exit"}


@overload
def method(func: F, /) -> F: ...
@overload
def method() -> Callable[[F], F]: ...
def method(func: F | None = None, /) -> F | Callable[[F], F]:
    """Make a method of an `@app.cls` class a function of the app: `Model().predict.remote(x)`."""
    return _mark(METHOD_MARK, func)


@overload
def enter(func: F, /) -> F: ...
@overload
def enter() -> Callable[[F], F]: ...
def enter(func: F | None = None, /) -> F | Callable[[F], F]:
    """Run a method of an `@app.cls` class once per container, before its first input (load weights here)."""
    return _mark(ENTER_MARK, func)


@overload
def exit(func: F, /) -> F: ...
@overload
def exit() -> Callable[[F], F]: ...
def exit(func: F | None = None, /) -> F | Callable[[F], F]:
    """Run a method of an `@app.cls` class when its container stops; best effort, within a few seconds."""
    return _mark(EXIT_MARK, func)


def _mark(mark: str, func: F | None) -> F | Callable[[F], F]:
    def apply(target: F) -> F:
        if not inspect.isfunction(target):
            raise InvalidRequest(f"@skiff.{MARKS[mark]} goes on a method defined with def, not on {target!r}")
        setattr(target, mark, True)
        return target

    return apply if func is None else apply(func)


def _is_marked(value: object, mark: str) -> bool:
    return getattr(value, mark, False) is True


def method_function_name(class_name: str, method_name: str) -> str:
    """The name a method is deployed and called by: `Model-predict`."""
    return f"{class_name}-{method_name}"


def class_methods(user_cls: type[Any]) -> dict[str, Callable[..., Any]]:
    """The class's `@skiff.method`s by name, after checking what the runtime needs of the class."""
    name = getattr(user_cls, "__name__", repr(user_cls))
    if not inspect.isclass(user_cls) or user_cls.__qualname__ != name:
        raise InvalidRequest(f"@app.cls goes on a class defined at the top level of its module, not on {name!r}")
    _require_no_arguments(user_cls, f"{name}()", "each container makes one instance of it with no arguments")
    methods = {key: value for key, value in vars(user_cls).items() if _is_marked(value, METHOD_MARK)}
    for base in user_cls.__mro__[1:]:
        for key, value in vars(base).items():
            if _is_marked(value, METHOD_MARK) and key not in vars(user_cls):
                raise InvalidRequest(
                    f"@skiff.method {key!r} of {name} is defined in its base class {base.__name__}; "
                    f"define it in {name} itself (it may return super().{key}(...))"
                )
    if not methods:
        raise InvalidRequest(f"class {name!r} has no @skiff.method; mark the methods to call remotely")
    for key, value in methods.items():
        if value.__qualname__ != f"{name}.{key}":  # the runtime finds a method's class by its qualified name
            raise InvalidRequest(f"{name}.{key} must be defined with def in the body of {name}, under that name")
        if _is_marked(value, ENTER_MARK) or _is_marked(value, EXIT_MARK):
            raise InvalidRequest(f"{name}.{key} is a @skiff.method and a lifecycle hook; make them two methods")
        if FUNCTION_NAME.fullmatch(method_function_name(name, key)) is None:
            raise InvalidRequest(
                f"{name}.{key} would be the function {method_function_name(name, key)!r}, which is invalid; "
                "class and method names together must fit in 64 letters, digits and '_'"
            )
    for mark in (ENTER_MARK, EXIT_MARK):
        for key in hook_names(user_cls, mark):
            _require_no_arguments(getattr(user_cls, key), f"@skiff.{MARKS[mark]} {name}.{key}", "it takes only self")
    return methods


def hook_names(user_cls: type[Any], mark: str) -> list[str]:
    """The names of the class's hooks with `mark`: base classes first, in definition order (as the runtime)."""
    names: list[str] = []
    for klass in reversed(user_cls.__mro__):
        names += [key for key, value in vars(klass).items() if _is_marked(value, mark) and key not in names]
    return names


def _require_no_arguments(target: Callable[..., Any], what: str, reason: str) -> None:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # some builtins have no signature to check
        return
    try:
        signature.bind(*([None] if inspect.isfunction(target) else []))
    except TypeError:
        raise InvalidRequest(f"{what} must be callable without arguments: {reason}") from None


class Cls:
    """A class of an app (`@app.cls`): `Model()` is a handle whose methods are the deployed functions."""

    def __init__(
        self,
        app_name: str,
        name: str,
        *,
        methods: Mapping[str, Function[..., Any]] | None = None,
        user_cls: type[Any] | None = None,
    ) -> None:
        self.app_name = app_name
        self.name = name
        self.methods = dict(methods) if methods is not None else None  # None: looked up by name
        self.user_cls = user_cls

    def __repr__(self) -> str:
        return f"Cls({self.app_name!r}, {self.name!r})"

    @classmethod
    def from_name(cls, app_name: str, name: str) -> Cls:
        """A reference to a deployed class; nothing is checked until a method is called."""
        if not name.isidentifier():
            raise InvalidRequest(f"class name {name!r} is invalid; use the Python class's name, e.g. 'Model'")
        return Cls(check_app_name(app_name), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Obj:
        """A handle on the class's instances; each container makes its own, with no arguments."""
        if args or kwargs:
            raise InvalidRequest(f"{self.name}() takes no arguments: each container makes its instance with none")
        return Obj(self)

    def function_of(self, name: str, obj: Obj) -> Method:
        if self.methods is None:
            return Method(Function(self.app_name, method_function_name(self.name, name)), name, obj)
        if name not in self.methods:
            known = ", ".join(sorted(self.methods)) or "none"
            raise AttributeError(f"{self.name} has no @skiff.method {name!r}; methods: {known}")
        return Method(self.methods[name], name, obj)


class Obj:
    """A handle on an `@app.cls` class's instances: `obj.predict` is the function of `predict`."""

    def __init__(self, cls: Cls) -> None:
        self._cls = cls
        self._local_instance: Any = None

    def __repr__(self) -> str:
        return f"{self._cls.name}()"

    def __getattr__(self, name: str) -> Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._cls.function_of(name, self)

    def _instance_here(self) -> Any:
        """The class made here, its `@skiff.enter` hooks run once (for `.local()` calls)."""
        if self._local_instance is None:
            if self._cls.user_cls is None:
                raise Error(f"{self._cls!r} was looked up by name; it has no local class to run")
            instance = self._cls.user_cls()
            for key in hook_names(self._cls.user_cls, ENTER_MARK):
                pending = getattr(instance, key)()
                if inspect.iscoroutine(pending):
                    asyncio.run(pending)
            self._local_instance = instance
        return self._local_instance


class Method(Function[..., Any]):
    """A method of an `@app.cls` class, reached through a handle: `Model().predict`."""

    def __init__(self, function: Function[..., Any], method_name: str, obj: Obj) -> None:
        super().__init__(
            function.app_name,
            function.name,
            func=function.raw_f,
            options=function.options,
            version=function.version,
            class_name=function.class_name,
        )
        self.method_name = method_name
        self._obj = obj

    def local(self, *args: Any, **kwargs: Any) -> Any:
        """Run the method here, on this handle's own instance (made, and entered, on first use)."""
        return getattr(self._obj._instance_here(), self.method_name)(*args, **kwargs)
