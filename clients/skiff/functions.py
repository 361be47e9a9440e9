"""`skiff.Function`: a deployed (or deployable) function, called by app and function name.

hello = skiff.Function.from_name("hello", "hello")
hello.remote("ada")        # run it on the platform and wait for the result
hello.spawn("ada").get()   # start it, collect the result later
list(hello.map(names))     # many inputs, results in order
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, ParamSpec, TypeVar

from skiff.calls import MAX_SERVER_WAIT_SECONDS, FunctionCall, ended_calls, outcome, start_call, start_map
from skiff.connection import Connection, default_connection
from skiff.exceptions import Error, InvalidRequest, NotFound
from skiff.options import FunctionOptions
from skiff_client.api.apps import list_functions, update_function
from skiff_client.models import AutoscalingPatch, CallOut
from skiff_client.types import UNSET, Unset

P = ParamSpec("P")
R = TypeVar("R")

APP_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_app_name(name: str) -> str:
    if not isinstance(name, str) or APP_NAME.fullmatch(name) is None:
        rule = "use lower-case letters, digits and '-', starting with a letter or digit (at most 63 characters)"
        raise InvalidRequest(f"app name {name!r} is invalid; {rule}, e.g. 'image-tools'")
    return name


def _result_or_error(call: CallOut, return_exceptions: bool) -> Any:
    try:
        return outcome(call)
    except Error as exc:
        if not return_exceptions:
            raise
        return exc


class Function(Generic[P, R]):
    """A deployed (or deployable) function, called by app and function name.

    `version` pins the calls to one deployed version; without it they reach the app's current one.
    `class_name` is set on the functions of an `@app.cls` class: its method is `raw_f`.
    """

    def __init__(
        self,
        app_name: str,
        name: str,
        *,
        func: Callable[P, R] | None = None,
        options: FunctionOptions | None = None,
        connection: Connection | None = None,
        version: int | None = None,
        class_name: str | None = None,
    ) -> None:
        self.app_name = app_name
        self.name = name
        self.raw_f = func
        self.options = options or FunctionOptions()
        self._connection = connection
        self.version = version
        self.class_name = class_name

    def __repr__(self) -> str:
        pinned = "" if self.version is None else f", version={self.version}"
        return f"Function({self.app_name!r}, {self.name!r}{pinned})"

    @classmethod
    def from_name(cls, app_name: str, name: str) -> Function[..., Any]:
        """A reference to a deployed function; nothing is checked until it is called."""
        return Function(check_app_name(app_name), name)

    @classmethod
    def lookup(cls, app_name: str, name: str) -> Function[..., Any]:
        """A deployed function of the app's current version; NotFound names the functions there are."""
        connection = default_connection()
        listing = connection.send(
            lambda c: list_functions.sync_detailed(check_app_name(app_name), client=c), idempotent=True
        )
        names = [item.name for item in listing.items]
        if name not in names:
            raise NotFound(f"function {name!r} not found in app {app_name!r}; functions: {', '.join(names) or 'none'}")
        return Function(app_name, name)

    @property
    def connection(self) -> Connection:
        return self._connection or default_connection()

    def update_autoscaler(
        self,
        *,
        min_containers: int | Unset | None = UNSET,
        max_containers: int | Unset | None = UNSET,
        buffer_containers: int | Unset | None = UNSET,
        scaledown_window: int | Unset | None = UNSET,
    ) -> dict[str, int]:
        """Change the deployed function's autoscaling now, without a deploy; None returns a setting to
        the manifest's. The change outlives deploys that leave the setting alone. Returns the settings
        in effect."""
        body = AutoscalingPatch(
            min_containers=min_containers,
            max_containers=max_containers,
            buffer_containers=buffer_containers,
            scaledown_window=scaledown_window,
        )
        updated = self.connection.send(
            lambda c: update_function.sync_detailed(self.app_name, self.name, client=c, body=body), idempotent=True
        )
        return dict(updated.autoscaling.to_dict())

    def local(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the Python function here, in this process."""
        if self.raw_f is None:
            raise Error(f"{self!r} was looked up by name; it has no local Python function to run")
        return self.raw_f(*args, **kwargs)

    def remote(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function on the platform and wait for its result; raises RemoteError if it raised."""
        state = start_call(
            self.connection, self.app_name, self.name, args, kwargs, wait=MAX_SERVER_WAIT_SECONDS, version=self.version
        )
        return FunctionCall[R](state.id, connection=self._connection, state=state).get()

    def spawn(self, *args: P.args, **kwargs: P.kwargs) -> FunctionCall[R]:
        """Start the function and return at once; `.get()` on the answer waits for the result."""
        state = start_call(self.connection, self.app_name, self.name, args, kwargs, version=self.version)
        return FunctionCall[R](state.id, connection=self._connection, state=state)

    def map(
        self, *iterables: Iterable[Any], order_outputs: bool = True, return_exceptions: bool = False
    ) -> Iterator[Any]:
        """Call the function once per input (zipped across `iterables`), then yield the results.

        All inputs are started before any result is collected. With `return_exceptions`, a failed
        call yields its exception instead of raising it.
        """
        inputs: list[tuple[tuple[Any, ...], dict[str, Any]]] = [(tuple(v), {}) for v in zip(*iterables, strict=False)]
        return self._map_calls(inputs, order_outputs, return_exceptions)

    def starmap(
        self, input_iterator: Iterable[Sequence[Any]], *, order_outputs: bool = True, return_exceptions: bool = False
    ) -> Iterator[Any]:
        """Like `map`, with each input already a tuple of positional arguments."""
        return self._map_calls([(tuple(values), {}) for values in input_iterator], order_outputs, return_exceptions)

    def _map_calls(
        self, inputs: list[tuple[tuple[Any, ...], dict[str, Any]]], order_outputs: bool, return_exceptions: bool
    ) -> Iterator[Any]:
        connection = self.connection
        ids = start_map(connection, self.app_name, self.name, inputs, version=self.version)
        position = {call_id: index for index, call_id in enumerate(ids)}
        ready: dict[int, CallOut] = {}
        next_index = 0
        for call in ended_calls(connection, ids, MAX_SERVER_WAIT_SECONDS):
            if not order_outputs:
                yield _result_or_error(call, return_exceptions)
                continue
            ready[position[call.id]] = call
            while next_index in ready:
                yield _result_or_error(ready.pop(next_index), return_exceptions)
                next_index += 1
