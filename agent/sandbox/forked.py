"""A container forked from a zygote: the zygote's sandbox, but its own cgroup, pipes and environment.

The isolation story, decided once:
- Children of one zygote share its bubblewrap sandbox: mount, pid, network, ipc and user
  namespaces, /tmp and /dev/shm, the seccomp filter and the dropped capabilities. That is
  acceptable because a zygote serves one function version of one workspace with one set of
  secrets and devices (``agent.zygote_pool`` keys it so). A child can see and signal its
  siblings, as threads of one process could; the zygote itself is not dumpable, so no child can
  reach into it (its memory, or a new sibling's pipes while it holds them) through /proc.
- Limits and killing are per container: the agent moves each child into a fresh cgroup of its own
  before it runs any user code (a handshake holds the child until then), so memory, pids and CPU
  are counted per container and a timeout, cancel or OOM kills that cgroup alone, never the
  zygote or a sibling. Pages still shared with the zygote stay charged to the zygote's cgroup.
- A zygote that dies takes its sandbox's pid namespace, and so its children, with it: their
  containers end "killed (its zygote exited)"; the pool starts a new zygote on the next start.
- Each child gets its own protocol pipes and stdout/stderr (passed with SCM_RIGHTS), and the
  environment a fresh sandbox would have had (CUDA_VISIBLE_DEVICES included) before user code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import agent.runtime
from agent.sandbox import rootfs
from agent.sandbox.bwrap import DRAIN_TIMEOUT_S, START_TIMEOUT_S, SandboxStartError
from agent.sandbox.cgroups import CgroupUnavailable, ContainerCgroup
from agent.sandbox.interface import ExitKind, ExitStatus, LogSink, SandboxSpec, format_bytes
from agent.sandbox.output import CappedOutput

log = logging.getLogger(__name__)

REPORT_GRACE_S = 2.0  # after the child is gone, how long the zygote has to report how it ended
UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How a forked child ended, as its parent (the zygote) saw it."""

    code: int | None = None
    signal: int | None = None


class ForkServer(Protocol):
    """What a forked container needs from its zygote (``agent.zygote.Zygote``)."""

    @property
    def alive(self) -> bool: ...

    def fork(self, container_id: str, request: bytes, fds: Sequence[int]) -> asyncio.Future[ChildExit | None]:
        """Ask for a child; the future says how it ended (None: unknown, the zygote is gone)."""

    def pids(self) -> list[int]:
        """Host pids of the processes in the zygote's own cgroup (a fresh child starts there)."""


async def receive_with_sender(sock: socket.socket, size: int) -> tuple[bytes, int | None]:
    """One packet from a non-blocking SO_PASSCRED socket, with the sender's pid in our pid namespace."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data, ancillary, _, _ = sock.recvmsg(size, socket.CMSG_SPACE(UCRED.size))
            break
        except BlockingIOError:
            readable: asyncio.Future[None] = loop.create_future()
            loop.add_reader(sock.fileno(), _resolve, readable)
            try:
                await readable
            finally:
                loop.remove_reader(sock.fileno())
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= UCRED.size:
            return data, UCRED.unpack(payload[: UCRED.size])[0]
    return data, None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def credentials_socketpair() -> tuple[socket.socket, socket.socket]:
    """(ours, theirs): packets arriving on ours carry the sender's pid, translated by the kernel."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    ours.setblocking(False)
    return ours, theirs


def runtime_options(argv: Sequence[str]) -> list[str]:
    """The runtime's options in a fresh sandbox's command line (after BOOTSTRAP, its dir and package)."""
    return list(argv[list(argv).index(agent.runtime.BOOTSTRAP) + 3 :])


class ForkedSandbox:
    """One container forked from a zygote. Implements ``agent.sandbox.interface.Sandbox``."""

    def __init__(self, zygote: ForkServer, spec: SandboxSpec, log_sink: LogSink | None = None) -> None:
        self.spec = spec
        self._zygote = zygote
        limits = spec.limits
        self._outputs = {
            name: CappedOutput(name, limits.output_bytes, limits.log_bytes, log_sink) for name in ("stdout", "stderr")
        }
        self._cgroup: ContainerCgroup | None = None
        self._ended: asyncio.Future[ChildExit | None] | None = None
        self._pid: int | None = None
        self._pidfd: int | None = None
        self._drains: list[asyncio.Future[None]] = []
        self._kill_reason: tuple[ExitKind, str] | None = None
        self._exit_status: ExitStatus | None = None
        self._finished: asyncio.Task[ExitStatus] | None = None

    @property
    def container_id(self) -> str:
        return self.spec.container_id

    @property
    def exit_status(self) -> ExitStatus | None:
        return self._exit_status

    @property
    def cgroup(self) -> ContainerCgroup | None:
        return self._cgroup

    @property
    def pid(self) -> int | None:
        """Host pid of the container's runtime process."""
        return self._pid

    async def start(self) -> None:
        try:
            self._cgroup = ContainerCgroup.create(self.spec.container_id, self.spec.limits)
        except CgroupUnavailable as exc:
            raise SandboxStartError(f"a forked container needs cgroups of its own: {exc}") from exc
        try:
            await self._launch()
        except BaseException as exc:
            await self._abandon()
            if isinstance(exc, OSError):  # the child vanished before it was confined, fds ran out...
                raise SandboxStartError(f"cannot fork the container: {exc}") from exc
            raise
        self._finished = asyncio.ensure_future(self._watch())

    def _request(self) -> bytes:
        env = {**rootfs.FIXED_ENV, **self.spec.env, "PWD": self.spec.cwd}  # what bwrap gives a fresh sandbox
        options = runtime_options(self.spec.argv)
        return json.dumps({"id": self.container_id, "env": env, "cwd": self.spec.cwd, "options": options}).encode()

    async def _launch(self) -> None:
        in_fd, out_fd = self.spec.pass_fds
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        ours, theirs = credentials_socketpair()
        try:
            try:
                self._ended = self._zygote.fork(
                    self.container_id, self._request(), [in_fd, out_fd, stdout_w, stderr_w, theirs.fileno()]
                )
            finally:
                os.close(stdout_w)
                os.close(stderr_w)
                theirs.close()
            self._drains = [self._drain("stdout", stdout_r), self._drain("stderr", stderr_r)]
            await self._handshake(ours)
        finally:
            ours.close()  # a child still waiting for "go" reads EOF and leaves

    async def _handshake(self, ours: socket.socket) -> None:
        """Wait for the child's hello, move it into the container's cgroup, let it go."""
        assert self._ended is not None and self._cgroup is not None
        hello = asyncio.ensure_future(receive_with_sender(ours, 16))
        either: list[asyncio.Future[Any]] = [hello, self._ended]
        try:
            await asyncio.wait(either, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not hello.done():
                hello.cancel()
        if not hello.done() or hello.cancelled():
            if self._ended.done():
                ended = self._ended.result()  # raises the zygote's fork error
                said = "its zygote exited" if ended is None else f"it ended before its handshake ({ended})"
                raise SandboxStartError(f"the forked container did not start: {said}")
            raise SandboxStartError(f"the zygote did not fork within {START_TIMEOUT_S:g} s")
        data, pid = hello.result()
        # the pid comes from the kernel, but check that it is a fresh child still in the zygote's cgroup
        if data != b"hello" or pid is None or pid not in self._zygote.pids():
            raise SandboxStartError("the forked container's handshake came from an unexpected process")
        self._pid = pid
        self._pidfd = os.pidfd_open(pid)  # signals must never reach a recycled pid
        self._cgroup.add(pid)
        ours.send(b"go")

    def _drain(self, stream: str, fd: int) -> asyncio.Future[None]:
        pipe = os.fdopen(fd, "rb", 0)

        async def drain() -> None:
            reader = asyncio.StreamReader(limit=1 << 20)
            try:
                transport, _ = await asyncio.get_running_loop().connect_read_pipe(
                    lambda: asyncio.StreamReaderProtocol(reader), pipe
                )
            except BaseException:
                pipe.close()
                raise
            try:
                await self._outputs[stream].drain(reader)
            finally:
                transport.close()

        return asyncio.ensure_future(drain())

    async def _abandon(self) -> None:
        """Undo a half-done start: no process or cgroup may outlive it."""
        if self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        await self._release_cgroup()
        await self._stop_drains()
        self._close_pidfd()
        self._exit_status = ExitStatus(ExitKind.KILLED, detail="the forked container failed to start")

    async def _watch(self) -> ExitStatus:
        ended = await self._child_exit()
        status = self._classify(ended)
        await self._release_cgroup()  # the child's own children, if any, go with it
        await self._stop_drains()
        self._close_pidfd()
        self._exit_status = status
        return status

    async def _child_exit(self) -> ChildExit | None:
        """The zygote's report; the child's pidfd guards against a zygote that never sends one."""
        assert self._ended is not None and self._pidfd is not None
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()
        pidfd = self._pidfd
        loop.add_reader(pidfd, _resolve, gone)
        try:
            either: list[asyncio.Future[Any]] = [self._ended, gone]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(pidfd)
        with contextlib.suppress(TimeoutError, SandboxStartError):  # the latter: a confused zygote
            return await asyncio.wait_for(asyncio.shield(self._ended), REPORT_GRACE_S)
        return None

    def _classify(self, ended: ChildExit | None) -> ExitStatus:
        if self._kill_reason is not None:
            kind, detail = self._kill_reason
            return ExitStatus(kind, detail=detail)
        if ended is not None and ended.code == 0:
            return ExitStatus(ExitKind.EXITED, exit_code=0)
        if self._cgroup is not None and self._cgroup.oom_killed():
            return ExitStatus(ExitKind.OOM, detail=f"limit {format_bytes(self.spec.limits.memory_bytes)}")
        if ended is None:
            detail = "exit status not reported" if self._zygote.alive else "its zygote exited"
            return ExitStatus(ExitKind.KILLED, detail=detail)
        if ended.signal is not None:
            return ExitStatus(ExitKind.SIGNALED, signal=ended.signal)
        return ExitStatus(ExitKind.EXIT_CODE, exit_code=ended.code)

    async def _release_cgroup(self) -> None:
        if self._cgroup is None:
            return
        try:
            await self._cgroup.destroy()
        except OSError:  # TimeoutError included: processes stuck in the kernel; report, never hang
            log.exception("could not remove the cgroups of container %s", self.spec.container_id)

    async def _stop_drains(self) -> None:
        # after the cgroup is empty nobody holds the pipes; the timeout only guards odd cases
        if self._drains:
            await asyncio.wait(self._drains, timeout=DRAIN_TIMEOUT_S)
        for drain in self._drains:
            drain.cancel()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    async def wait(self) -> ExitStatus:
        if self._finished is None:
            if self._exit_status is not None:  # it failed to start
                return self._exit_status
            raise RuntimeError("the sandbox was not started")
        return await asyncio.shield(self._finished)

    async def kill(self, kind: ExitKind = ExitKind.KILLED, detail: str = "") -> ExitStatus:
        if self._exit_status is None and self._kill_reason is None:
            self._kill_reason = (kind, detail)
        if self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        if self._cgroup is not None and self._exit_status is None:
            await self._cgroup.kill_all()  # the container's cgroup only: the zygote and siblings live on
        return await self.wait()

    def pids(self) -> list[int]:
        if self._exit_status is not None or self._cgroup is None:
            return []
        return self._cgroup.pids()

    def output(self, stream: str) -> bytes:
        return self._outputs[stream].getvalue()
