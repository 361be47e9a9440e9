"""Handlers that are methods of a class (the SDK's ``@app.cls``): one instance per container.

A handler whose function is defined in the body of a top-level class (``module:Class.method``, or a
top-level alias of ``Class.method``) is served bound to one instance of that class, made with no
arguments when the container starts. The class's functions marked ``__skiff_enter__`` run on that
instance before the first input, like a setup; those marked ``__skiff_exit__`` run when the input
loop ends (shutdown, the agent gone, or SIGTERM). Exit hooks are best effort: they get
``EXIT_SECONDS`` in all, as the agent kills a container a few seconds after asking it to stop.
"""

from __future__ import annotations

import os
import sys
import time
import types

from . import failures

try:
    import _signal as signal  # type: ignore[import-not-found]  # what `signal` wraps, without the `enum` it imports (~8 ms per cold start)
except ImportError:
    import signal

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator, List, Optional, Tuple

ENTER_MARK = "__skiff_enter__"
EXIT_MARK = "__skiff_exit__"
EXIT_SECONDS = 4.0  # the agent kills a container 5 s after its shutdown frame


class HookTimeout(Exception):
    """An exit hook ran past the time left to the exit hooks."""


def served_instance(function: Callable[..., Any]) -> Optional[ClassInstance]:
    """The instance to serve ``function`` on, when a top-level class's body defines it; else None."""
    path = str(getattr(function, "__qualname__", "")).split(".")
    module = sys.modules.get(str(getattr(function, "__module__", "")))
    if len(path) < 2 or "<locals>" in path or module is None:
        return None
    owner: Any = module
    for part in path[:-1]:
        owner = getattr(owner, part, None)
    if not isinstance(owner, type) or vars(owner).get(path[-1]) is not function:
        return None  # a staticmethod, or a function that only borrowed a class's name
    return ClassInstance(owner, path[-1])


def marked(cls: type, mark: str) -> List[str]:
    """The names of the class's attributes that carry ``mark``: base classes first, in definition order."""
    names: List[str] = []
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if getattr(value, mark, False) is True and name not in names:
                names.append(name)
    return names


class ClassInstance:
    """The one instance of a handler's class in this container, with its enter and exit hooks."""

    def __init__(self, cls: type, method: str) -> None:
        self.cls = cls
        self.method = method
        self.instance: Any = None
        self.exit_hooks = marked(cls, EXIT_MARK)
        self.stopped = False

    def start(self) -> Optional[failures.ErrorInfo]:
        """Make the instance and run its enter hooks (async ones each on a throwaway loop); the error
        when one raised."""
        try:
            self.instance = self.cls()
            for pending in self._enter_hooks():
                if isinstance(pending, types.CoroutineType):
                    import asyncio  # only async hooks of sync methods pay for importing asyncio

                    asyncio.run(pending)
        except BaseException as exc:
            return failures.describe(exc)
        return None

    async def start_async(self) -> Optional[failures.ErrorInfo]:
        """Like ``start``, on the running loop of an async method."""
        try:
            self.instance = self.cls()
            for pending in self._enter_hooks():
                if hasattr(pending, "__await__"):
                    await pending
        except BaseException as exc:
            return failures.describe(exc)
        return None

    def _enter_hooks(self) -> Iterator[Any]:
        for name in marked(self.cls, ENTER_MARK):
            yield getattr(self.instance, name)()

    def bound_method(self) -> Callable[..., Any]:
        return getattr(self.instance, self.method)  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Run the exit hooks once, on this thread; async ones each on a throwaway loop."""
        deadline = time.monotonic() + EXIT_SECONDS
        for name, hook in self._take_exit_hooks():
            try:
                pending = _call_within(hook, deadline)
                if isinstance(pending, types.CoroutineType):
                    import asyncio

                    asyncio.run(asyncio.wait_for(pending, max(deadline - time.monotonic(), 0.001)))
            except BaseException as exc:
                _report(self.cls, name, exc)

    async def stop_async(self) -> None:
        """Run the exit hooks once, on the running loop of an async method."""
        import asyncio

        deadline = time.monotonic() + EXIT_SECONDS
        for name, hook in self._take_exit_hooks():
            try:
                pending = _call_within(hook, deadline)
                if hasattr(pending, "__await__"):
                    await asyncio.wait_for(pending, max(deadline - time.monotonic(), 0.001))
            except BaseException as exc:
                _report(self.cls, name, exc)

    def _take_exit_hooks(self) -> List[Tuple[str, Callable[[], Any]]]:
        if self.stopped or self.instance is None:
            return []  # never started (enter failed), or already stopped (SIGTERM, then the loop's end)
        self.stopped = True
        return [(name, getattr(self.instance, name)) for name in self.exit_hooks]

    def stop_on_sigterm(self) -> None:
        """SIGTERM runs the exit hooks, then ends the process as SIGTERM would have (sync methods)."""
        if self.exit_hooks:
            signal.signal(signal.SIGTERM, self._terminate)

    def _terminate(self, signum: int, frame: Any) -> None:
        self.stop()
        terminate_now(signum)


def terminate_now(signum: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _call_within(hook: Callable[[], Any], deadline: float) -> Any:
    """Call a hook with SIGALRM armed for the time left: a sync hook that overruns is interrupted."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HookTimeout("not started: the exit hooks' %g s were used up" % EXIT_SECONDS)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, remaining)
    try:
        return hook()
    finally:  # disarmed before an async hook awaits: the alarm must never land in the event loop
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _on_alarm(signum: int, frame: Any) -> None:
    raise HookTimeout("ran past the exit hooks' %g s" % EXIT_SECONDS)


def _report(cls: type, name: str, exc: BaseException) -> None:
    # The container's stderr is its log: an exit hook has no call to fail.
    error = failures.describe(exc)
    timed_out = isinstance(exc, HookTimeout) or error["type"].endswith("TimeoutError")  # asyncio.wait_for's
    message = "ran past the exit hooks' %g s" % EXIT_SECONDS if timed_out else error["message"]
    sys.stderr.write("skiff: exit hook %s.%s: %s: %s\n" % (cls.__name__, name, error["type"], message))
    if error["traceback"] and not timed_out:
        sys.stderr.write(error["traceback"])
    sys.stderr.flush()
