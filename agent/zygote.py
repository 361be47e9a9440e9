"""A zygote: per function version and node, a sandboxed runtime that has imported the function
and forks new containers of it in milliseconds instead of starting an interpreter (DESIGN.md §5).

This module is one zygote: its bubblewrap sandbox (started like a container's, but running
``agent.runtime.zygote``), the control socket it speaks on, and the children it forked, each of
which is a ``Container`` whose sandbox is an ``agent.sandbox.forked.ForkedSandbox`` (where the
isolation between children is described). ``agent.zygote_pool`` decides which zygote a container
comes from and when an idle one goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence

import msgspec

import agent.runtime
from agent.channel import RemoteError
from agent.container import (
    SANDBOX_BUNDLE,
    ContainerSpec,
    packages_option,
    precompile_runtime,
    runtime_binds,
    runtime_command,
    runtime_env,
    runtime_python,
)
from agent.sandbox.bwrap import BwrapSandbox, SandboxStartError
from agent.sandbox.forked import ChildExit, ForkedSandbox, credentials_socketpair, receive_with_sender
from agent.sandbox.interface import ExitKind, ExitStatus, LogSink, SandboxSpec

log = logging.getLogger("skiff.agent")

# Set per container by the agent (the GPUs it was given); never part of the zygote's identity.
PER_CONTAINER_ENV = frozenset({"CUDA_VISIBLE_DEVICES"})
MAX_MESSAGE_BYTES = 1 << 20


class Started(msgspec.Struct, frozen=True, tag="ready", tag_field="type"):
    pid: int  # in the sandbox's pid namespace; the agent uses the one the kernel reports


class ImportFailed(msgspec.Struct, frozen=True, tag="failed", tag_field="type"):
    error: RemoteError


class NotForkable(msgspec.Struct, frozen=True, tag="unforkable", tag_field="type"):
    reason: str


class ChildExited(msgspec.Struct, frozen=True, tag="exited", tag_field="type"):
    id: str
    code: int | None = None
    signal: int | None = None


class ForkFailed(msgspec.Struct, frozen=True, tag="fork_failed", tag_field="type"):
    id: str
    error: str


ZygoteMessage = Started | ImportFailed | NotForkable | ChildExited | ForkFailed
_decoder: msgspec.json.Decoder[ZygoteMessage] = msgspec.json.Decoder(ZygoteMessage)


class ZygoteStartError(Exception):
    """The zygote never became ready: the function's modules failed to import, or its sandbox died."""

    def __init__(self, message: str, error: RemoteError | None = None, exit_status: ExitStatus | None = None):
        super().__init__(message)
        self.error = error
        self.exit_status = exit_status


class ZygoteUnforkable(Exception):
    """The function imports, but forking it is unsafe (threads, CUDA, no cgroups): use fresh sandboxes."""


class Zygote:
    """One zygote: its sandbox, its control socket, and the children it forked."""

    def __init__(self, key: str, spec: ContainerSpec, id_prefix: str = "zygote-") -> None:
        self.key = key
        self.spec = spec
        self.id = f"{id_prefix}{uuid.uuid4().hex[:12]}"  # names its cgroup
        self.pid: int | None = None  # host pid of the zygote process, as the kernel reported it
        self.forks = 0
        self.sandbox: BwrapSandbox | None = None
        self._control: socket.socket | None = None
        self._ready: asyncio.Future[Started | ImportFailed | NotForkable | ExitStatus] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._gone = False
        self._children: dict[str, asyncio.Future[ChildExit | None]] = {}
        self._forked: weakref.WeakSet[ForkedSandbox] = weakref.WeakSet()
        self._in_use = 0
        self._idle_since = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.pid is not None and not self._gone

    def idle_for(self, now: float) -> float:
        return 0.0 if self._children or self._in_use else now - self._idle_since

    @contextlib.contextmanager
    def reserved(self) -> Iterator[None]:
        """Not idle while a container is being forked from it (the reaper must not close it)."""
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            self._idle_since = time.monotonic()

    async def start(self, ready_timeout_s: float = 60.0) -> None:
        """Launch the zygote and wait until it has imported the function; cleans up when it cannot."""
        try:
            await self._launch()
            first = await self._await_ready(ready_timeout_s)
        except BaseException:
            await self.close("the zygote failed to start")
            raise
        if isinstance(first, Started):
            return
        await self.close("the zygote did not get ready")
        if isinstance(first, ImportFailed):
            raise ZygoteStartError(f"the function failed to load: {first.error.message}", first.error)
        if isinstance(first, NotForkable):
            raise ZygoteUnforkable(first.reason)
        assert self.sandbox is not None
        stderr = self.sandbox.output("stderr")[-2000:].decode(errors="replace").strip()
        raise ZygoteStartError(f"zygote exited before it was ready: {first.reason}\n{stderr}", exit_status=first)

    async def _launch(self) -> None:
        spec = self.spec
        python = runtime_python(spec)
        await precompile_runtime(python, spec.runtime_files)
        self._control, theirs = credentials_socketpair()
        options = {
            "--bundle": SANDBOX_BUNDLE,
            "--handler": spec.handler,
            "--setup": spec.setup or "",
            "--preload": ",".join(spec.preload),
            **packages_option(spec),
            "--control-fd": str(theirs.fileno()),
        }
        argv = runtime_command(spec, python, agent.runtime.ZYGOTE_BOOTSTRAP)
        argv += [item for pair in options.items() for item in pair]
        sandbox_spec = SandboxSpec(
            container_id=self.id,
            argv=argv,
            python_executable=python.resolve(),
            binds=runtime_binds(spec),
            env={name: value for name, value in runtime_env(spec).items() if name not in PER_CONTAINER_ENV},
            limits=spec.limits,
            cwd=SANDBOX_BUNDLE,
            pass_fds=(theirs.fileno(),),
            run_as_uid=spec.run_as_uid,
            devices=spec.devices,  # its children share its mount namespace: they see what it sees
            proc_views=spec.proc_views,
        )
        self.sandbox = BwrapSandbox(sandbox_spec, self._log_output)
        try:
            await self.sandbox.start()
        except SandboxStartError as exc:
            raise ZygoteStartError(str(exc)) from exc
        finally:
            theirs.close()
        if self.sandbox.cgroup is None:
            raise ZygoteUnforkable("cgroups are unavailable: forked containers could not be limited one by one")
        self._ready = asyncio.get_running_loop().create_future()
        self._receiver = asyncio.ensure_future(self._receive())

    async def _await_ready(self, timeout_s: float) -> Started | ImportFailed | NotForkable | ExitStatus:
        assert self._ready is not None and self.sandbox is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            status = await self.sandbox.kill(ExitKind.KILLED, f"not ready after {timeout_s:g} s")
            raise ZygoteStartError(f"zygote not ready after {timeout_s:g} s", exit_status=status) from None

    async def _receive(self) -> None:
        assert self._control is not None and self._ready is not None and self.sandbox is not None
        while True:
            try:
                data, sender = await receive_with_sender(self._control, MAX_MESSAGE_BYTES)
            except OSError:
                log.exception("lost the control socket of zygote %s", self.id)
                await self.sandbox.kill(ExitKind.KILLED, "the agent lost its control socket")
                break
            if not data:
                break  # the zygote is gone: its sandbox ends with it
            if self.pid is not None and sender != self.pid:
                continue  # only the zygote itself speaks here (its children close the socket at once)
            try:
                message = _decoder.decode(data)
            except msgspec.DecodeError as exc:
                await self.sandbox.kill(ExitKind.KILLED, f"the zygote broke the protocol: {exc}")
                break
            self._dispatch(message, sender)
        self._gone = True
        status = await self.sandbox.wait()
        self._control.close()
        for ended in self._children.values():
            if not ended.done():
                ended.set_result(None)  # its children died with its pid namespace
        self._children.clear()
        self._idle_since = time.monotonic()
        if not self._ready.done():
            self._ready.set_result(status)

    def _dispatch(self, message: ZygoteMessage, sender: int | None) -> None:
        assert self._ready is not None
        if isinstance(message, ChildExited | ForkFailed):
            ended = self._children.pop(message.id, None)
            if not self._children:
                self._idle_since = time.monotonic()
            if ended is None or ended.done():
                return
            if isinstance(message, ChildExited):
                ended.set_result(ChildExit(message.code, message.signal))
            else:
                ended.set_exception(SandboxStartError(f"the zygote could not fork: {message.error}"))
        elif not self._ready.done():
            if isinstance(message, Started):
                self.pid = sender
            self._ready.set_result(message)

    def sandbox_factory(self, spec: SandboxSpec, log_sink: LogSink | None) -> ForkedSandbox:
        """For ``Container(sandbox_factory=...)``: the container is forked from this zygote."""
        sandbox = ForkedSandbox(self, spec, log_sink)
        self._forked.add(sandbox)
        return sandbox

    def fork(self, container_id: str, request: bytes, fds: Sequence[int]) -> asyncio.Future[ChildExit | None]:
        if not self.alive or self._control is None:
            raise SandboxStartError("the zygote is not running")
        if container_id in self._children:
            raise SandboxStartError(f"container {container_id} was already forked")
        memfd = os.memfd_create("fork-request", os.MFD_CLOEXEC)
        try:
            view = memoryview(request)
            while view:
                view = view[os.write(memfd, view) :]
            socket.send_fds(self._control, [b"fork"], [memfd, *fds])
        except OSError as exc:
            raise SandboxStartError(f"cannot reach the zygote: {exc}") from exc
        finally:
            os.close(memfd)
        ended: asyncio.Future[ChildExit | None] = asyncio.get_running_loop().create_future()
        self._children[container_id] = ended
        self.forks += 1
        return ended

    def pids(self) -> list[int]:
        return [] if self.sandbox is None else self.sandbox.pids()

    async def close(self, detail: str) -> None:
        """Kill the zygote and every container forked from it; returns once all are gone."""
        self._gone = True
        children = [sandbox for sandbox in self._forked if sandbox.pid is not None and sandbox.exit_status is None]
        await asyncio.gather(*(child.kill(ExitKind.KILLED, f"its zygote was closed: {detail}") for child in children))
        if self.sandbox is not None:
            await self.sandbox.kill(ExitKind.KILLED, detail)
        if self._receiver is not None:
            await self._receiver
        elif self._control is not None:
            self._control.close()

    def _log_output(self, stream: str, line: bytes) -> None:
        # what the function's modules print while they import: not any one container's
        text = line.decode(errors="replace")[:2000]
        log.info("zygote output", extra={"zygote": self.id, "key": self.key, "stream": stream, "text": text})
