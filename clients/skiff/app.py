"""`skiff.App` and `@app.function(...)`: Modal's vocabulary over Skiff's HTTP API.

app = skiff.App("thumbnails")

@app.function(memory=2048, retries=3)
def thumbnail(url: str) -> dict[str, str]: ...

thumbnail.remote("https://...")        # run it on the platform and wait for the result
thumbnail.spawn("https://...").get()   # start it, collect the result later
list(thumbnail.map(urls))              # many inputs, results in order

`@app.cls(...)` registers a class whose methods are functions: see `skiff.cls`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from skiff.cls import Cls, class_methods, method_function_name
from skiff.deployments import Deployment, deploy_functions
from skiff.exceptions import InvalidRequest
from skiff.functions import Function, check_app_name
from skiff.options import FUNCTION_NAME, FunctionOptions, Image, Retries, check
from skiff.schedules import Schedule
from skiff.secrets import Secret

__all__ = ["App", "Function", "check_app_name"]  # Function and check_app_name live in skiff.functions

P = ParamSpec("P")
R = TypeVar("R")


class App:
    """A named group of functions (and classes of them), deployed together as one version."""

    def __init__(self, name: str) -> None:
        self.name = check_app_name(name)
        self.registered_functions: dict[str, Function[..., Any]] = {}
        caller = inspect.currentframe()
        caller = caller.f_back if caller is not None else None
        # The app's own file: its directory is what `deploy()` packages.
        self.source_file: str | None = caller.f_globals.get("__file__") if caller is not None else None

    def __repr__(self) -> str:
        return f"App({self.name!r})"

    def function(
        self,
        *,
        image: Image | None = None,
        gpu: str | Sequence[str] | None = None,
        cpu: float | None = None,
        memory: int | None = None,
        timeout: int | None = None,
        retries: int | Retries | None = None,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        max_inputs: int | None = None,
        scaledown_window: int | None = None,
        max_pending: int | None = None,
        preload: Sequence[str] = (),
        zygote: bool | None = None,
        env: Mapping[str, str] | None = None,
        setup: str | Callable[..., Any] | None = None,
        secrets: Sequence[Secret | str] = (),
        schedule: Schedule | None = None,
    ) -> Callable[[Callable[P, R]], Function[P, R]]:
        """Register a module-level function; its options are checked now, not at deploy time.

        `schedule=skiff.Cron("0 6 * * *", timezone="Europe/Berlin")` or `skiff.Period(hours=1)` calls the
        function (without arguments) on that schedule once the app is deployed; see `skiff.schedules`.
        """
        options = FunctionOptions(
            image=image,
            gpu=gpu,
            cpu=cpu,
            memory=memory,
            timeout=timeout,
            retries=retries,
            min_containers=min_containers,
            max_containers=max_containers,
            buffer_containers=buffer_containers,
            max_inputs=max_inputs,
            scaledown_window=scaledown_window,
            max_pending=max_pending,
            preload=tuple(preload),
            zygote=zygote,
            env=dict(env or {}),
            setup=setup,
            secrets=tuple(secrets),
            schedule=schedule,
        )

        def register(func: Callable[P, R]) -> Function[P, R]:
            name = getattr(func, "__name__", "")
            path = f"functions.{name}"
            problems = options.problems(path)
            if FUNCTION_NAME.fullmatch(name) is None:
                raise InvalidRequest(f"function name {name!r} is invalid; use letters, digits, '_' and '-'")
            if not inspect.isfunction(func) or func.__qualname__ != name:
                raise InvalidRequest(f"{name!r} must be a function defined at the top level of its module")
            if callable(setup) and not _same_module_function(setup, func):
                raise InvalidRequest(
                    f"setup for {name!r} must be a top-level function of the same module ({func.__module__}), "
                    "or a 'module:function' string"
                )
            if name in self.registered_functions:
                raise InvalidRequest(f"app {self.name!r} already has a function named {name!r}")
            check(problems, f"function {name!r}")
            if schedule is not None and (required := _required_parameters(func)):
                raise InvalidRequest(
                    f"function {name!r} has a schedule, which calls it without arguments; "
                    f"give {', '.join(required)} a default"
                )
            function = Function[P, R](self.name, name, func=func, options=options)
            self.registered_functions[name] = function
            return function

        return register

    def cls(
        self,
        *,
        image: Image | None = None,
        gpu: str | Sequence[str] | None = None,
        cpu: float | None = None,
        memory: int | None = None,
        timeout: int | None = None,
        retries: int | Retries | None = None,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        max_inputs: int | None = None,
        scaledown_window: int | None = None,
        max_pending: int | None = None,
        preload: Sequence[str] = (),
        zygote: bool | None = None,
        env: Mapping[str, str] | None = None,
        setup: str | Callable[..., Any] | None = None,
        secrets: Sequence[Secret | str] = (),
    ) -> Callable[[type[Any]], Cls]:
        """Register a module-level class: each `@skiff.method` becomes the function `CLASS-METHOD`, served
        on one instance per container (`@skiff.enter` methods run before its first input, `@skiff.exit`
        ones when it stops). The options apply to every method, and are checked now."""
        options = FunctionOptions(
            image=image,
            gpu=gpu,
            cpu=cpu,
            memory=memory,
            timeout=timeout,
            retries=retries,
            min_containers=min_containers,
            max_containers=max_containers,
            buffer_containers=buffer_containers,
            max_inputs=max_inputs,
            scaledown_window=scaledown_window,
            max_pending=max_pending,
            preload=tuple(preload),
            zygote=zygote,
            env=dict(env or {}),
            setup=setup,
            secrets=tuple(secrets),
        )

        def register(user_cls: type[Any]) -> Cls:
            methods = class_methods(user_cls)
            class_name = user_cls.__name__
            if callable(setup) and not _same_module_function(setup, user_cls):
                raise InvalidRequest(
                    f"setup for {class_name!r} must be a top-level function of the same module "
                    f"({user_cls.__module__}), or a 'module:function' string; or use @skiff.enter"
                )
            first = method_function_name(class_name, next(iter(methods)))
            check(options.problems(f"functions.{first}"), f"class {class_name!r}")
            functions = {
                key: Function[..., Any](
                    self.name, method_function_name(class_name, key), func=func, options=options, class_name=class_name
                )
                for key, func in methods.items()
            }
            for function in functions.values():
                if function.name in self.registered_functions:
                    raise InvalidRequest(f"app {self.name!r} already has a function named {function.name!r}")
            self.registered_functions.update({function.name: function for function in functions.values()})
            return Cls(self.name, class_name, methods=functions, user_cls=user_cls)

        return register

    def deploy(self, *, name: str | None = None, root: Path | None = None) -> Deployment:
        """Package the app's directory with a generated `skiff.toml` and deploy it as a new version.

        `root` is the directory to package; by default, the one holding the file that created the App.
        Then each function's `schedule=` is applied: see `skiff.schedules.apply_schedules`.
        """
        app_name = check_app_name(name or self.name)
        return deploy_functions(app_name, self.registered_functions, root=root, source_file=self.source_file)


def _required_parameters(func: Callable[..., Any]) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(func).parameters.values()
    return [p.name for p in parameters if p.kind in kinds and p.default is inspect.Parameter.empty]


def _same_module_function(setup: Callable[..., Any], defined: Callable[..., Any] | type[Any]) -> bool:
    return inspect.isfunction(setup) and setup.__module__ == defined.__module__ and setup.__qualname__ == setup.__name__
