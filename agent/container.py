"""One container of a function: a sandboxed runtime that serves inputs until it is told to stop.

Lifecycle: ``start`` (sandbox up, user module imported, setup run, ``ready``) → ``run`` inputs
(up to max_inputs at once for async functions, one at a time otherwise) → ``shutdown`` or a kill
(timeout, cancel, lost lease) → ``exit_status`` says why it ended. Payloads are opaque bytes
here: the agent never decodes (let alone unpickles) what users send.

The sandbox is a fresh bubblewrap one by default; a container forked from a zygote
(``agent.zygote_pool``) goes through the same lifecycle with a ``ForkedSandbox`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import agent.runtime
from agent import runtime_files
from agent.channel import (
    Output,
    ProtocolError,
    Ready,
    RemoteError,
    RuntimeChannel,
    RuntimeMessage,
    SetupFailed,
)
from agent.runtime import frames
from agent.runtime_files import RuntimeFiles
from agent.sandbox import rootfs
from agent.sandbox.bwrap import BwrapSandbox, SandboxStartError
from agent.sandbox.interface import Bind, ExitKind, ExitStatus, Limits, LogSink, ProcView, Sandbox, SandboxSpec

SANDBOX_RUNTIME_PARENT = "/opt/skiff"
SANDBOX_RUNTIME_PACKAGE = "skiff_runtime"
SANDBOX_PACKAGES = f"{SANDBOX_RUNTIME_PARENT}/packages"  # the runtime's --packages: searched after the venv's
SANDBOX_BUNDLE = "/app"
CANCEL_GRACE_S = 2.0  # an async input gets this long to honour a cancel before the container dies
MiB = 1 << 20

SandboxFactory = Callable[[SandboxSpec, LogSink | None], Sandbox]


def default_python() -> Path:
    # the real binary, never a pyenv shim (+37 ms per start, DESIGN.md §5)
    return Path(sys.executable).resolve()


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    container_id: str
    bundle_dir: Path
    handler: str  # "module:function"
    setup: str | None = None  # "module:function", run once before the container is ready
    max_inputs: int = 1  # concurrency for async functions; sync ones always take one at a time
    env: Mapping[str, str] = field(default_factory=dict)  # declared env and secrets
    limits: Limits = field(default_factory=Limits)
    python: Path = field(default_factory=default_python)  # used when there is no venv
    venv: Path | None = None  # the function's environment; its bin/python runs the runtime
    max_input_bytes: int = 64 * MiB
    max_result_bytes: int = 16 * MiB
    run_as_uid: int | None = None
    zygote: bool = False  # fork it from a warm zygote of its function version (agent.zygote_pool)
    preload: tuple[str, ...] = ()  # modules the zygote imports before it forks ("numpy", "torch")
    devices: tuple[Path, ...] = ()  # device nodes bound read-write: the container's GPUs (agent.gpus)
    proc_views: tuple[ProcView, ...] = ()  # /proc directories shown in part: the driver's list of its GPUs
    extra_ro_binds: tuple[Bind, ...] = ()  # more read-only paths, e.g. a GPU driver kept outside /usr
    runtime_files: RuntimeFiles = field(default_factory=runtime_files.installed)  # the agent stages a copy


@dataclass(frozen=True, slots=True)
class Input:
    id: str
    payload: bytes  # b'{"args": [...], "kwargs": {...}}', or pickle bytes for the sandbox alone
    content_type: str = frames.CONTENT_JSON


class OutcomeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Outcome:
    input_id: str
    status: OutcomeStatus
    result: bytes | None = None  # the result, when succeeded: JSON, or opaque bytes of `result_type`
    result_type: str = frames.CONTENT_JSON
    error: RemoteError | None = None
    container_exit: ExitStatus | None = None  # set when the container died under this input
    run_s: float = 0.0


class ContainerState(enum.StrEnum):
    CREATED = "created"
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    EXITED = "exited"


class ContainerStartError(Exception):
    """The container never became ready: setup failed, the sandbox refused, or it died early."""

    def __init__(self, message: str, error: RemoteError | None = None, exit_status: ExitStatus | None = None):
        super().__init__(message)
        self.error = error
        self.exit_status = exit_status


class ContainerNotReady(Exception):
    """``run`` was called on a container that is not (or no longer) ready."""


_LOST_ERROR_TYPES = {ExitKind.OOM: "OutOfMemory", ExitKind.SIGNALED: "ContainerCrashed"}
_compiled_for: set[tuple[Path, RuntimeFiles]] = set()


def packages_option(spec: ContainerSpec) -> dict[str, str]:
    """The runtime's `--packages`, when the agent has packages to lend."""
    return {"--packages": SANDBOX_PACKAGES} if spec.runtime_files.packages else {}


async def precompile_runtime(python: Path, files: RuntimeFiles) -> None:
    """Write the .pyc of the runtime and the platform's packages for this interpreter once: the
    sandbox sees them read-only."""
    if (python, files) in _compiled_for:
        return
    _compiled_for.add((python, files))
    process = await asyncio.create_subprocess_exec(
        str(python),
        "-I",
        "-m",
        "compileall",
        "-q",
        str(files.runtime),
        *map(str, files.packages),
        stdout=asyncio.subprocess.DEVNULL,
        env={},
    )
    await process.wait()  # failure (a read-only install) only costs compile time at each start


def runtime_python(spec: ContainerSpec) -> Path:
    return spec.venv / "bin" / "python" if spec.venv else spec.python.resolve()


def python_sources() -> list[Path]:
    """What every sandbox without a venv binds of the agent's own Python (beside /usr)."""
    return [bind.source for bind in rootfs.python_binds(default_python())]


def runtime_binds(spec: ContainerSpec) -> list[Bind]:
    """What a container of this spec sees besides the system: the runtime and the platform's
    packages, its bundle, its venv."""
    binds = [
        Bind(spec.runtime_files.runtime, f"{SANDBOX_RUNTIME_PARENT}/{SANDBOX_RUNTIME_PACKAGE}"),
        *(Bind(path, f"{SANDBOX_PACKAGES}/{path.name}") for path in spec.runtime_files.packages),
        Bind(spec.bundle_dir.resolve(), SANDBOX_BUNDLE),
    ]
    if spec.venv is not None:
        binds.append(Bind(spec.venv, str(spec.venv)))  # same path: pyvenv.cfg and shebangs are absolute
    return [*binds, *spec.extra_ro_binds]


def runtime_env(spec: ContainerSpec) -> dict[str, str]:
    env: dict[str, str] = {}
    if spec.venv is not None:
        env |= {"VIRTUAL_ENV": str(spec.venv), "PATH": f"{spec.venv}/bin:/usr/local/bin:/usr/bin:/bin"}
    return env | dict(spec.env)


def runtime_command(spec: ContainerSpec, python: Path, bootstrap: str) -> list[str]:
    """The interpreter and bootstrap; the runtime's options follow."""
    # -S without a venv: only the interpreter's stdlib, not the host's site-packages
    flags = ["-I"] if spec.venv is not None else ["-I", "-S"]
    return [str(python), *flags, "-c", bootstrap, SANDBOX_RUNTIME_PARENT, SANDBOX_RUNTIME_PACKAGE]


class Container:
    """A sandboxed runtime serving one function. Drive it from one asyncio event loop."""

    def __init__(
        self,
        spec: ContainerSpec,
        log_sink: LogSink | None = None,
        sandbox_factory: SandboxFactory = BwrapSandbox,
    ) -> None:
        self.spec = spec
        self.state = ContainerState.CREATED
        self.is_async = False
        self.max_inputs = 1
        self.spawned_at: float | None = None  # time.monotonic() when the sandbox was launched
        self.ready_at: float | None = None
        self._log_sink = log_sink
        self._sandbox_factory = sandbox_factory
        self._sandbox: Sandbox | None = None
        self._channel: RuntimeChannel | None = None
        self._ready: asyncio.Future[Ready | SetupFailed | ExitStatus] | None = None
        self._replies: dict[str, asyncio.Future[Output | ExitStatus]] = {}
        self._queued: dict[str, asyncio.Future[None]] = {}
        self._killed_for: dict[str, OutcomeStatus] = {}  # inputs whose timeout or cancel killed it
        self._slots = asyncio.Semaphore(1)
        self._receiver: asyncio.Task[None] | None = None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise ContainerNotReady("the container was not started")
        return self._sandbox

    @property
    def exit_status(self) -> ExitStatus | None:
        return None if self._sandbox is None else self._sandbox.exit_status

    @property
    def running_inputs(self) -> list[str]:
        return list(self._replies)

    async def start(self, ready_timeout_s: float = 60.0) -> None:
        """Launch the sandbox and wait for ``ready``; raises ContainerStartError otherwise."""
        self.state = ContainerState.STARTING
        python = runtime_python(self.spec)
        await precompile_runtime(python, self.spec.runtime_files)
        to_runtime_r, to_runtime_w = os.pipe()
        from_runtime_r, from_runtime_w = os.pipe()
        self._sandbox = self._sandbox_factory(self._sandbox_spec(python, to_runtime_r, from_runtime_w), self._log_sink)
        self.spawned_at = time.monotonic()
        try:
            await self._sandbox.start()
        except BaseException as exc:
            for fd in (to_runtime_w, from_runtime_r):
                os.close(fd)
            self.state = ContainerState.EXITED
            if isinstance(exc, SandboxStartError):
                raise ContainerStartError(str(exc)) from exc
            raise
        finally:
            os.close(to_runtime_r)  # the sandbox holds its own copies; ours would hide EOF
            os.close(from_runtime_w)
        max_payload = self.spec.max_result_bytes + 64 * 1024
        self._channel = await RuntimeChannel.open(from_runtime_r, to_runtime_w, max_payload)
        self._ready = asyncio.get_running_loop().create_future()
        self._receiver = asyncio.ensure_future(self._receive())
        await self._await_ready(ready_timeout_s)

    def _sandbox_spec(self, python: Path, in_fd: int, out_fd: int) -> SandboxSpec:
        spec = self.spec
        options = {
            "--bundle": SANDBOX_BUNDLE,
            "--handler": spec.handler,
            "--setup": spec.setup or "",
            "--max-inputs": str(spec.max_inputs),
            "--max-input-bytes": str(spec.max_input_bytes),
            "--max-result-bytes": str(spec.max_result_bytes),
            **packages_option(spec),
            "--in-fd": str(in_fd),
            "--out-fd": str(out_fd),
        }
        argv = runtime_command(spec, python, agent.runtime.BOOTSTRAP)
        argv += [item for pair in options.items() for item in pair]
        return SandboxSpec(
            container_id=spec.container_id,
            argv=argv,
            python_executable=python.resolve(),  # a venv's interpreter lives in its base installation
            binds=runtime_binds(spec),
            env=runtime_env(spec),
            limits=spec.limits,
            cwd=SANDBOX_BUNDLE,
            pass_fds=(in_fd, out_fd),
            run_as_uid=spec.run_as_uid,
            devices=spec.devices,
            proc_views=spec.proc_views,
        )

    async def _await_ready(self, timeout_s: float) -> None:
        assert self._ready is not None
        try:
            first = await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            status = await self.sandbox.kill(ExitKind.KILLED, f"not ready after {timeout_s:g} s")
            raise ContainerStartError(f"container not ready after {timeout_s:g} s", exit_status=status) from None
        if isinstance(first, Ready):
            self.is_async, self.max_inputs = first.is_async, max(1, first.max_inputs)
            self._slots = asyncio.Semaphore(self.max_inputs)
            self.ready_at = time.monotonic()
            self.state = ContainerState.READY
            return
        if isinstance(first, SetupFailed):
            status = await self.sandbox.wait()
            raise ContainerStartError(f"setup failed: {first.error.message}", first.error, status)
        stderr = self.sandbox.output("stderr")[-2000:].decode(errors="replace").strip()
        raise ContainerStartError(f"container exited before it was ready: {first.reason}\n{stderr}", None, first)

    async def _receive(self) -> None:
        assert self._channel is not None and self._ready is not None
        try:
            while (message := await self._channel.receive()) is not None:
                self._dispatch(message)
        except ProtocolError as exc:
            await self.sandbox.kill(ExitKind.KILLED, f"runtime broke the protocol: {exc}")
        status = await self.sandbox.wait()  # the pipe closes when the runtime is gone
        self.state = ContainerState.EXITED
        self._channel.close()
        if not self._ready.done():
            self._ready.set_result(status)
        for reply in self._replies.values():
            if not reply.done():
                reply.set_result(status)

    def _dispatch(self, message: RuntimeMessage) -> None:
        assert self._ready is not None
        if isinstance(message, Output):
            reply = self._replies.get(message.id)
            if reply is not None and not reply.done():
                reply.set_result(message)
        elif not self._ready.done():
            self._ready.set_result(message)

    async def run(self, item: Input, timeout_s: float | None = None) -> Outcome:
        """Run one input; a timeout or cancel yields an outcome, never an exception."""
        if self.state is not ContainerState.READY or self._channel is None:
            raise ContainerNotReady(f"container {self.spec.container_id} is {self.state}")
        if len(item.payload) > self.spec.max_input_bytes:
            message = f"input is {len(item.payload)} bytes; the limit is {self.spec.max_input_bytes} bytes"
            return Outcome(item.id, OutcomeStatus.FAILED, error=RemoteError("InputTooLarge", message))
        if not await self._take_slot(item.id):
            return Outcome(item.id, OutcomeStatus.CANCELLED)
        started = time.monotonic()
        reply: asyncio.Future[Output | ExitStatus] = asyncio.get_running_loop().create_future()
        self._replies[item.id] = reply
        try:
            with contextlib.suppress(ConnectionError):  # a dead runtime answers through `reply`
                await self._channel.send_input(item.id, item.payload, item.content_type)
            try:
                answer = await asyncio.wait_for(asyncio.shield(reply), timeout_s)
            except TimeoutError:
                self._killed_for.setdefault(item.id, OutcomeStatus.TIMED_OUT)
                answer = await self._stop_input(item.id, reply, ExitKind.TIMED_OUT, f"limit {timeout_s:g} s")
        finally:
            self._replies.pop(item.id, None)
            self._slots.release()
        return self._outcome(item.id, answer, time.monotonic() - started)

    async def _take_slot(self, input_id: str) -> bool:
        """Wait for a free slot; False when the input was cancelled while it waited."""
        if not self._slots.locked():  # free and nobody waiting: taken at once, with nothing to wait for
            await self._slots.acquire()
            return True
        cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued[input_id] = cancelled
        acquire = asyncio.ensure_future(self._acquire_slot())
        try:
            await asyncio.wait([acquire, cancelled], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._queued.pop(input_id, None)
        if not cancelled.done():
            return True
        if acquire.done():
            self._slots.release()
        acquire.cancel()
        return False

    async def _acquire_slot(self) -> None:
        await self._slots.acquire()

    async def cancel(self, input_id: str) -> None:
        """Cancel a queued or running input; a running sync input takes the container with it."""
        if (queued := self._queued.get(input_id)) is not None and not queued.done():
            queued.set_result(None)
        elif (reply := self._replies.get(input_id)) is not None:
            self._killed_for.setdefault(input_id, OutcomeStatus.CANCELLED)
            await self._stop_input(input_id, reply, ExitKind.CANCELLED, f"input {input_id} was cancelled")

    async def _stop_input(
        self, input_id: str, reply: asyncio.Future[Output | ExitStatus], kind: ExitKind, detail: str
    ) -> Output | ExitStatus:
        """Ask an async runtime to cancel the input; kill the container if it is sync or does not obey."""
        if self.is_async and self._channel is not None and not reply.done():
            with contextlib.suppress(ConnectionError):
                await self._channel.send_cancel(input_id)
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(reply), CANCEL_GRACE_S)
        if not reply.done():
            await self.sandbox.kill(kind, detail)
        return await reply

    def _outcome(self, input_id: str, answer: Output | ExitStatus, run_s: float) -> Outcome:
        killed_for = self._killed_for.pop(input_id, None)
        if isinstance(answer, Output):
            if answer.status == "ok":
                result, result_type = answer.payload, answer.content_type
                return Outcome(input_id, OutcomeStatus.SUCCEEDED, result, result_type, run_s=run_s)
            if answer.status == "cancelled":
                return Outcome(input_id, killed_for or OutcomeStatus.CANCELLED, run_s=run_s)
            return Outcome(input_id, OutcomeStatus.FAILED, error=answer.error, run_s=run_s)
        if killed_for is not None and answer.kind in (ExitKind.TIMED_OUT, ExitKind.CANCELLED):
            return Outcome(input_id, killed_for, container_exit=answer, run_s=run_s)
        error_type = _LOST_ERROR_TYPES.get(answer.kind, "ContainerExited")
        error = RemoteError(error_type, f"the container exited while running the input: {answer.reason}")
        return Outcome(input_id, OutcomeStatus.FAILED, error=error, container_exit=answer, run_s=run_s)

    async def shutdown(self, grace_s: float = 5.0) -> ExitStatus:
        """Ask the runtime to finish and exit; kill the container when grace runs out."""
        if self._sandbox is None:
            raise ContainerNotReady("the container was not started")
        if self.state is not ContainerState.EXITED and self._channel is not None:
            self.state = ContainerState.STOPPING
            with contextlib.suppress(ConnectionError):
                await self._channel.send_shutdown()
        try:
            return await asyncio.wait_for(self._sandbox.wait(), grace_s)
        except TimeoutError:
            return await self._sandbox.kill(ExitKind.KILLED, f"still running {grace_s:g} s after shutdown")

    async def kill(self, detail: str) -> ExitStatus:
        """Kill the whole container now (lost lease, agent shutdown); running inputs fail."""
        return await self.sandbox.kill(ExitKind.KILLED, detail)

    async def wait(self) -> ExitStatus:
        status = await self.sandbox.wait()
        if self._receiver is not None:
            await self._receiver
        return status
