"""This node's zygotes: which one a container forks from, and when an idle one goes.

``ZygotePool.start_container`` is what the daemon calls for every container: with
``spec.zygote`` it forks one from its function version's zygote, otherwise it starts a fresh
sandbox; either way it returns a ready ``Container``. When there is no zygote yet (or the last one
died), the first container starts fresh and the zygote warms up shortly after it is ready;
containers that start meanwhile start the zygote themselves, wait for it and fork. A function
whose modules cannot be forked safely (threads started at import, CUDA initialised at import, a
node without cgroups) falls back to fresh sandboxes by itself.

A zygote holds no GPU memory (it never initialises CUDA) and is reclaimed after ``idle_s``
without children, so scale to zero still ends with nothing running. One zygote serves exactly one
identity: the caller's key (the function version, which pins the workspace) plus everything that
shapes its sandbox or its imports; only ``PER_CONTAINER_ENV`` may differ between its children.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Hashable

from agent.container import Container, ContainerSpec, ContainerStartError, runtime_python
from agent.sandbox.interface import LogSink
from agent.zygote import PER_CONTAINER_ENV, Zygote, ZygoteStartError, ZygoteUnforkable

log = logging.getLogger("skiff.agent")

DEFAULT_IDLE_S = 300.0  # longer than functions' scaledown windows: forks stay warm between bursts
WARM_UP_DELAY_S = 0.5  # after a first container started fresh, before its zygote starts


def zygote_identity(key: str, spec: ContainerSpec) -> Hashable:
    """What must be equal for two containers to fork from one zygote."""
    env = tuple(sorted((name, value) for name, value in spec.env.items() if name not in PER_CONTAINER_ENV))
    return (
        key,
        spec.bundle_dir.resolve(),
        spec.handler,
        spec.setup,
        spec.preload,
        runtime_python(spec),
        spec.venv,
        env,
        spec.devices,
        spec.proc_views,
        spec.extra_ro_binds,
        spec.run_as_uid,
        spec.runtime_files,
        spec.limits.tmp_bytes,  # /tmp and /dev/shm belong to the zygote's sandbox
    )


class ZygotePool:
    """This node's zygotes: one per function version and sandbox shape, reclaimed when idle."""

    def __init__(
        self, idle_s: float = DEFAULT_IDLE_S, cgroup_prefix: str = "zygote-", *, fresh_while_warming: bool = True
    ) -> None:
        self.idle_s = idle_s
        # A start that finds no zygote: a fresh sandbox now (~30 ms), and the zygote warms up after it,
        # rather than waiting for the zygote (~75 ms) and then forking.
        self.fresh_while_warming = fresh_while_warming
        self.cgroup_prefix = cgroup_prefix  # names every zygote's cgroup: see agent.leftovers
        self._zygotes: dict[Hashable, Zygote] = {}
        self._starting: dict[Hashable, asyncio.Task[Zygote | None]] = {}
        # A first container started fresh; its zygote follows (a warm-up is due).
        self._fresh_first: set[Hashable] = set()
        self._warm_ups: dict[Hashable, asyncio.TimerHandle] = {}
        # Containers started fresh (not forked) and alive, and when the last of them ended: a zygote
        # is idle only while no container of its function runs, forked or not.
        self._fresh_alive: dict[Hashable, int] = {}
        self._fresh_ended: dict[Hashable, float] = {}
        self._fresh_watches: set[asyncio.Task[None]] = set()
        self._unforkable: dict[Hashable, float] = {}  # identity -> when it was found unforkable
        self._reaper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start_container(
        self, key: str, spec: ContainerSpec, log_sink: LogSink | None = None, ready_timeout_s: float = 60.0
    ) -> Container:
        """A ready container: forked from ``key``'s zygote when ``spec.zygote``, else a fresh sandbox.

        ``key`` names the function version (and so its workspace): only containers with the same
        key ever share a zygote. Raises ContainerStartError like ``Container.start``.
        """
        if not spec.zygote:
            return await _started(Container(spec, log_sink), ready_timeout_s)
        identity = zygote_identity(key, spec)
        if self.fresh_while_warming and self._no_zygote_yet(identity):
            self._fresh_first.add(identity)  # starts meanwhile wait for the zygote instead
            try:
                container = await _started(Container(spec, log_sink), ready_timeout_s)
            except BaseException:
                self._fresh_first.discard(identity)
                raise
            # Not at once: the zygote's start would slow this container's first input down.
            self._warm_ups[identity] = asyncio.get_running_loop().call_later(
                WARM_UP_DELAY_S, self._warm_up, identity, key, spec, ready_timeout_s
            )
            self._watch_fresh(identity, container)
            return container
        zygote = await self._zygote_for(identity, key, spec, ready_timeout_s)
        if zygote is None:
            return await _started(Container(spec, log_sink), ready_timeout_s)
        try:
            return await _forked(zygote, spec, log_sink, ready_timeout_s)
        except ContainerStartError:
            if zygote.alive:
                raise
        log.warning("a zygote died while forking; starting another", extra={"key": key, "zygote": zygote.id})
        zygote = await self._zygote_for(identity, key, spec, ready_timeout_s)
        if zygote is None:
            return await _started(Container(spec, log_sink), ready_timeout_s)
        return await _forked(zygote, spec, log_sink, ready_timeout_s)

    def zygote(self, key: str, spec: ContainerSpec) -> Zygote | None:
        """The live zygote that containers of this key and spec fork from, if any."""
        zygote = self._zygotes.get(zygote_identity(key, spec))
        return zygote if zygote is not None and zygote.alive else None

    def warming(self) -> bool:
        """A zygote is due to start or starting: what is warm here is about to change."""
        return bool(self._warm_ups or self._starting)

    def warm_keys(self) -> set[str]:
        """Keys with a live zygote here (placement prefers such nodes)."""
        return {zygote.key for zygote in self._zygotes.values() if zygote.alive}

    async def close(self) -> None:
        """Kill every zygote and every container forked from one."""
        self._closed = True
        for handle in self._warm_ups.values():
            handle.cancel()
        self._warm_ups.clear()
        for watch in self._fresh_watches:
            watch.cancel()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(*self._starting.values(), *self._closing, return_exceptions=True)
        zygotes = list(self._zygotes.values())
        self._zygotes.clear()
        await asyncio.gather(*(zygote.close("the agent is shutting down") for zygote in zygotes))

    def _watch_fresh(self, identity: Hashable, container: Container) -> None:
        self._fresh_alive[identity] = self._fresh_alive.get(identity, 0) + 1
        watch = asyncio.ensure_future(self._fresh_exit(identity, container))
        self._fresh_watches.add(watch)
        watch.add_done_callback(self._fresh_watches.discard)

    async def _fresh_exit(self, identity: Hashable, container: Container) -> None:
        try:
            await container.wait()
        finally:
            left = self._fresh_alive.pop(identity, 1) - 1
            if left:
                self._fresh_alive[identity] = left
            else:
                self._fresh_ended[identity] = time.monotonic()

    def _idle_for(self, identity: Hashable, zygote: Zygote, now: float) -> float:
        """How long no container of the zygote's function has run, forked from it or started fresh."""
        if self._fresh_alive.get(identity):
            return 0.0
        idle = zygote.idle_for(now)
        ended = self._fresh_ended.get(identity)
        return idle if ended is None else min(idle, now - ended)

    def _no_zygote_yet(self, identity: Hashable) -> bool:
        """No zygote live, starting, or about to start after a first fresh container."""
        zygote = self._zygotes.get(identity)
        return not (
            self._closed
            or (zygote is not None and zygote.alive)
            or identity in self._starting
            or identity in self._fresh_first
            or self._known_unforkable(identity)
        )

    def _warm_up(self, identity: Hashable, key: str, spec: ContainerSpec, timeout_s: float) -> None:
        """Starts the zygote in the background unless one is live or starting already."""
        self._warm_ups.pop(identity, None)
        self._fresh_first.discard(identity)
        zygote = self._zygotes.get(identity)
        if self._closed or (zygote is not None and zygote.alive) or identity in self._starting:
            return
        if not self._known_unforkable(identity):
            self._begin_start(identity, key, spec, timeout_s).add_done_callback(_log_warm_up_failure)

    async def _zygote_for(self, identity: Hashable, key: str, spec: ContainerSpec, timeout_s: float) -> Zygote | None:
        if self._closed:
            raise ContainerStartError("the agent is shutting down: no new containers")
        zygote = self._zygotes.get(identity)
        if zygote is not None and zygote.alive:
            return zygote
        if self._known_unforkable(identity):
            return None
        starting = self._starting.get(identity) or self._begin_start(identity, key, spec, timeout_s)
        return await asyncio.shield(starting)  # concurrent starts of one function share one zygote

    def _known_unforkable(self, identity: Hashable) -> bool:
        found_unforkable = self._unforkable.get(identity)
        return found_unforkable is not None and time.monotonic() - found_unforkable < self.idle_s

    def _begin_start(
        self, identity: Hashable, key: str, spec: ContainerSpec, timeout_s: float
    ) -> asyncio.Task[Zygote | None]:
        starting = asyncio.ensure_future(self._start_zygote(identity, key, spec, timeout_s))
        self._starting[identity] = starting
        starting.add_done_callback(functools.partial(self._started_zygote, identity))
        return starting

    def _started_zygote(self, identity: Hashable, task: asyncio.Task[Zygote | None]) -> None:
        if self._starting.get(identity) is task:
            del self._starting[identity]

    async def _start_zygote(self, identity: Hashable, key: str, spec: ContainerSpec, timeout_s: float) -> Zygote | None:
        dead = self._zygotes.pop(identity, None)
        if dead is not None:
            await dead.close("it died")
        zygote = Zygote(key, spec, self.cgroup_prefix)
        try:
            await zygote.start(timeout_s)
        except ZygoteUnforkable as exc:
            log.warning("cannot fork this function; fresh sandboxes instead", extra={"key": key, "why": str(exc)})
            self._unforkable[identity] = time.monotonic()
            return None
        except ZygoteStartError as exc:
            raise ContainerStartError(str(exc), exc.error, exc.exit_status) from exc
        self._zygotes[identity] = zygote
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.ensure_future(self._reap_idle())
        return zygote

    async def _reap_idle(self) -> None:
        tick = max(0.05, min(self.idle_s / 4, 5.0))
        while self._zygotes:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for identity, zygote in list(self._zygotes.items()):
                if zygote.alive and self._idle_for(identity, zygote, now) < self.idle_s:
                    continue
                if self._zygotes.get(identity) is zygote:
                    del self._zygotes[identity]
                    self._fresh_ended.pop(identity, None)
                    # a task of its own: close() cancels this loop, never a zygote half-closed
                    closing = asyncio.ensure_future(
                        zygote.close(f"idle for {self.idle_s:g} s" if zygote.alive else "it died")
                    )
                    self._closing.add(closing)
                    closing.add_done_callback(self._closing.discard)
                    await asyncio.shield(closing)


def _log_warm_up_failure(task: asyncio.Task[Zygote | None]) -> None:
    """A zygote warmed in the background that failed: the containers started meanwhile say why."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("a zygote did not start", extra={"error": str(exc)[:500]})


async def _started(container: Container, ready_timeout_s: float) -> Container:
    await container.start(ready_timeout_s)
    return container


async def _forked(zygote: Zygote, spec: ContainerSpec, log_sink: LogSink | None, ready_timeout_s: float) -> Container:
    container = Container(spec, log_sink, sandbox_factory=zygote.sandbox_factory)
    with zygote.reserved():
        await container.start(ready_timeout_s)
    return container
