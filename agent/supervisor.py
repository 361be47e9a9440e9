"""One container's life on this node, written down once:

fetch bundle → environment → sandbox → ready → slots ask for inputs and run them → drain → exit.

Each slot loop asks the API for its next input while reporting the last outcome (one round trip
per input). A slot of a quick function takes several queued inputs at once, as many as it would
run within TAKE_BUDGET_SECONDS at its recent pace, and reports their outcomes together.

A container that cannot start still serves its slots: every input it is handed fails with the
start error, so the calls waiting for it end with the user's traceback instead of waiting.

A container the scheduler puts to sleep (its function's last, scaled down while its zygote stays
warm here) lets its process exit and keeps its slots asking; the next input it is handed forks a new
process first, as a start would, without waiting for a placement.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from agent.api import AgentApi, Refused, Unreachable
from agent.bundles import BundleCache, BundleError
from agent.container import Container, ContainerStartError, OutcomeStatus
from agent.container import ContainerSpec as SandboxedSpec
from agent.container import Input as ContainerInput
from agent.container import Outcome as ContainerOutcome
from agent.environments import EnvironmentCache, EnvironmentUnavailable
from agent.gpus import GpuPool, NoFreeGpu, device_nodes, proc_views, visible_devices
from agent.inputs import InputChannel
from agent.inventory import GpuDevice
from agent.leftovers import ContainerMarks
from agent.runtime import frames
from agent.runtime_files import RuntimeFiles
from agent.runtime_files import installed as installed_runtime_files
from agent.sandbox.cgroups import CgroupUnavailable, ContainerCgroup
from agent.sandbox.interface import Limits
from agent.sandbox.users import SandboxUsers
from agent.zygote_pool import ZygotePool
from skiff_client.models import (
    BuildReport,
    CallError,
    CallOutcome,
    ContainerReport,
    ContainerSpec,
    Input,
    LogRecord,
    NextInputAnswer,
    Outcome,
    PayloadType,
)
from skiff_client.models import ContainerState as ReportedState
from skiff_client.types import Unset

log = logging.getLogger("skiff.agent")
NEXT_WAIT_SECONDS = 20.0
MAX_TAKE = 32
TAKE_BUDGET_SECONDS = 0.02  # the longest an input taken with others should wait here for its turn
RETRY_SECONDS = 1.0
LOG_FLUSH_SECONDS = 0.3
MiB = 1024 * 1024


@dataclass
class NodeKit:
    """What every container on this node draws on: the API, the caches, the zygotes, the GPUs."""

    node_id: str
    api: AgentApi
    bundles: BundleCache
    environments: EnvironmentCache
    zygotes: ZygotePool
    gpus: GpuPool
    users: SandboxUsers = field(default_factory=lambda: SandboxUsers(None))  # host uids of its sandboxes
    runtime_files: RuntimeFiles = field(default_factory=installed_runtime_files)  # as the sandboxes bind them
    marks: ContainerMarks | None = None  # its containers, on disk, for the next agent to clean up after a kill


@dataclass
class Running:
    """An input a slot is running: its lease, and the log lines not shipped yet."""

    lease_token: str
    lines: list[LogRecord] = field(default_factory=list)


class ContainerSupervisor:
    def __init__(self, command: ContainerSpec, kit: NodeKit) -> None:
        self.kit = kit
        self.command = command
        self.id = command.container_id
        self.api = kit.api
        self.spec: dict[str, Any] = command.spec.to_dict()
        self.received = time.monotonic()  # a cold start counts from here
        self.container: Container | None = None
        self.start_error: CallError | None = None
        self.start_outcome = Outcome.FAILED  # what a call taken after a failed start gets, with start_error
        self.running: dict[str, Running] = {}
        self.queued: dict[str, Running] = {}  # taken with the input running, waiting their turn
        self.seconds_per_input: float | None = None  # a moving average of run times
        self.exit_reason: str | None = None
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        self.sandboxed: SandboxedSpec | None = None  # what each of its processes starts from
        self.asleep: asyncio.Task[object] | None = None  # its process going down: it sleeps until an input
        self.waking = asyncio.Lock()
        self.woken_for: dict[str, float] = {}  # an input that woke it -> the new process's start, ms
        self.sleep_wanted = False  # heard while it ran an input: it sleeps once idle

    # ---- what the node loop sees ---------------------------------------------------------------

    def report(self) -> ContainerReport:
        if self.exit_reason is not None:
            return ContainerReport(container_id=self.id, state=ReportedState.EXITED, exit_reason=self.exit_reason)
        ready = self.container is not None and self.container.ready_at is not None
        state = ReportedState.READY if ready or self.start_error else ReportedState.STARTING
        if held := self.kit.gpus.held_by(self.id):
            return ContainerReport(container_id=self.id, state=state, gpus=held)
        return ContainerReport(container_id=self.id, state=state)

    def launch(self) -> None:
        if self.kit.marks is not None:
            self.kit.marks.add(self.id)
        self.task = asyncio.create_task(self._live(), name=f"container {self.id}")

    def held(self) -> list[str]:
        """Calls this container holds leases for: running, or taken and waiting their turn."""
        return [*self.running, *self.queued]

    async def abandon(self, call_id: str) -> None:
        """The call ended elsewhere (cancelled, lease lost): kill it here, report nothing."""
        self.queued.pop(call_id, None)
        if call_id in self.running and self.container is not None:
            self.running.pop(call_id, None)
            await self.container.cancel(call_id)

    async def stop(self) -> None:
        self.stopping = True
        self.kit.gpus.stopping(self.id)  # a start waiting for its GPUs may have them once it is gone

    async def kill(self, reason: str) -> None:
        if self.container is not None and self.container.exit_status is None:
            await self.container.kill(reason)

    # ---- its life ----------------------------------------------------------------------------

    async def _live(self) -> None:
        first = InputChannel(self.api, self.id)
        opening = asyncio.create_task(first.open())  # beside the start: the first ask finds it open
        try:
            await self._start()
        except (BundleError, EnvironmentUnavailable, ContainerStartError) as exc:
            self.start_error = _start_error(exc)
            log.warning("container failed to start", extra={"container": self.id, "error": str(exc)[:500]})
        except NoFreeGpu as exc:  # the scheduler's view was stale: not the function's doing, so its calls run again
            self.start_error = CallError(type_="NoFreeGpu", message=f"cannot start: {exc}")
            self.start_outcome = Outcome.CRASHED
            log.warning("container failed to start", extra={"container": self.id, "error": str(exc)})
        except Exception as exc:
            # Not the function's doing but this node's or the agent's (the API out of reach mid-fetch, a
            # damaged cache, a bug): the container fails to start all the same, its calls hear why and run
            # again while attempts remain, and its exit is reported so that another can be started.
            self.start_error = CallError(
                type_="AgentError", message=f"the node's agent could not start the container: {exc!r}"[:4000]
            )
            self.start_outcome = Outcome.CRASHED
            log.exception("container failed to start", extra={"container": self.id})
        except BaseException:
            opening.cancel()
            await first.close()
            raise
        cold_start_ms = (time.monotonic() - self.received) * 1000
        slots = int(self.spec.get("max_inputs", 1)) if self.container and self.container.is_async else 1
        channels = [first, *(InputChannel(self.api, self.id) for _ in range(slots - 1))]
        try:
            await opening
            await asyncio.gather(*(self._slot(c, cold_start_ms if c is first else None) for c in channels))
        finally:
            await asyncio.gather(*(c.close() for c in channels), return_exceptions=True)
            await self._exit()

    async def _start(self) -> None:
        if isinstance(self.command.secret_error, str):
            raise ContainerStartError(f"cannot start: {self.command.secret_error}")
        bundle = await self.kit.bundles.get(self.command.bundle_digest)
        try:
            environment = await self.kit.environments.get(self.command.image_key, self.spec.get("image", {}))
        except EnvironmentUnavailable as exc:
            if exc.build_log:
                await self._report_build(False, exc.seconds, exc.build_log)
            raise
        if environment.built_in_seconds:
            await self._report_build(True, environment.built_in_seconds, environment.log)
        gpus = await self._assign_gpus()
        env = dict(self.spec.get("env") or {})
        # Never logged: the values reach the sandbox's environment and nothing else.
        if not isinstance(self.command.secrets, Unset):
            env.update(self.command.secrets.additional_properties)
        libraries = self.kit.gpus.libraries if gpus else None
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = env["NVIDIA_VISIBLE_DEVICES"] = visible_devices(gpus)
        if libraries is not None:
            env |= libraries.env(env)
        spec = SandboxedSpec(
            container_id=self.id,
            bundle_dir=bundle,
            handler=self.spec["handler"],
            setup=self.spec.get("setup"),
            max_inputs=int(self.spec.get("max_inputs", 1)),
            env=env,
            limits=Limits(memory_bytes=int(self.spec.get("memory", 1024)) * MiB, cpus=float(self.spec.get("cpu", 1.0))),
            python=environment.python,
            venv=environment.venv,
            zygote=bool(self.spec.get("zygote", True)),
            preload=tuple(self.spec.get("preload") or ()),
            devices=device_nodes(gpus),
            proc_views=proc_views(gpus),
            extra_ro_binds=libraries.binds() if libraries is not None else (),
            run_as_uid=self.kit.users.uid_for(self.command.function_id),
            runtime_files=self.kit.runtime_files,
        )
        self.sandboxed = spec
        prepared = time.monotonic()
        # Raises when it cannot get ready: then it is gone already.
        self.container = await self._process(spec)
        log.info(
            "container ready",
            extra={
                "container": self.id,
                "sandbox": type(self.container.sandbox).__name__,
                "prepare_ms": round((prepared - self.received) * 1000, 2),
                "start_ms": round((time.monotonic() - prepared) * 1000, 2),
            },
        )

    async def _process(self, spec: SandboxedSpec) -> Container:
        key = f"{self.command.function_id}@{self.command.version}"
        return await self.kit.zygotes.start_container(key, spec, log_sink=self._on_output)

    def sleep(self) -> None:
        """The scheduler put it to sleep: its process exits once it runs nothing. A slot that hears it
        while another runs an input (one still ending here after its call ended elsewhere) leaves it
        for when the container is idle, unless an input comes meanwhile: its claim woke the container.
        Either way no process runs on under an asleep mark."""
        if self.running or self.queued:
            self.sleep_wanted = True
            return
        self.sleep_wanted = False
        container = self.container
        if self.asleep or self.stopping or container is None or container.exit_status is not None:
            return
        self.asleep = asyncio.create_task(self._fall_asleep(container))
        log.info("container asleep", extra={"container": self.id})

    async def _fall_asleep(self, container: Container) -> None:
        await container.shutdown()  # its cgroup is gone once this returns
        if self.sandboxed is not None:  # its next process's, made now rather than on the wake's path
            with contextlib.suppress(CgroupUnavailable):  # the wake then makes one itself
                ContainerCgroup.prepare(self.id, self.sandboxed.limits)

    async def _wake(self, call_id: str) -> None:
        """An input came for it asleep: a new process, forked from the zygote as a start would be. The
        input's outcome carries how long that took (its call was a cold start)."""
        async with self.waking:
            if self.asleep is None:
                return
            await self.asleep
            assert self.sandboxed is not None
            begun = time.monotonic()
            try:
                self.container = await self._process(self.sandboxed)
            finally:
                self.asleep = None
            self.woken_for[call_id] = start_ms = (time.monotonic() - begun) * 1000
            log.info("container awake", extra={"container": self.id, "start_ms": round(start_ms, 2)})

    async def _assign_gpus(self) -> list[GpuDevice]:
        count = self.command.gpu_count if isinstance(self.command.gpu_count, int) else 0
        if not count:
            return []
        model = self.command.gpu_model if isinstance(self.command.gpu_model, str) else "any"
        return await self.kit.gpus.acquire(self.id, model, count)

    async def _report_build(self, succeeded: bool, seconds: float, build_log: str) -> None:
        report = BuildReport(
            node_id=self.kit.node_id,
            function_id=self.command.function_id,
            image_key=self.command.image_key,
            succeeded=succeeded,
            seconds=seconds,
            log=build_log[-(1 << 20) :],
        )
        with contextlib.suppress(Unreachable, Refused):
            await self.api.report_build(report)

    async def _slot(self, channel: InputChannel, cold_start_ms: float | None) -> None:
        outcomes: list[CallOutcome] = []
        while True:
            wait = 0 if self.stopping else NEXT_WAIT_SECONDS
            try:
                answer = await channel.next(outcomes, wait, cold_start_ms, self._take())
            except Unreachable as exc:
                log.warning("next input failed; retrying", extra={"container": self.id, "error": str(exc)})
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Refused:
                return  # the API forgot this container (it was stopped or its node re-registered)
            outcomes, cold_start_ms = [], None
            items = [answer.input_, *_more(answer)] if isinstance(answer.input_, Input) else []
            if answer.stop or (not items and self.stopping):
                return
            if items:
                self.sleep_wanted = False
            elif answer.sleep is True:
                self.sleep()
            # Inputs taken together wait here in turn; the node's polls renew their leases meanwhile.
            self.queued.update({item.call_id: Running(item.lease_token) for item in items})
            for index, item in enumerate(items):
                if self.queued.pop(item.call_id, None) is None:
                    continue  # abandoned while it waited: it ended elsewhere
                outcome = await self._run(item)
                if self._dead():
                    await self._report_out_of_band([outcome, *self._never_ran(items[index + 1 :])])
                    return
                outcomes.append(outcome)
            if outcomes:  # the next ask says how long the first one waited for a new process, if it did
                cold_start_ms = self.woken_for.pop(outcomes[0].call_id, None)
            if self.sleep_wanted:
                self.sleep()

    def _take(self) -> int:
        """How many inputs to take at once: one, unless the function is quick enough that the inputs
        waiting here in turn wait no longer than TAKE_BUDGET_SECONDS."""
        if self.container is None or self.container.is_async or self.seconds_per_input is None:
            return 1
        return max(1, min(MAX_TAKE, int(TAKE_BUDGET_SECONDS / max(self.seconds_per_input, 1e-4))))

    def _never_ran(self, items: list[Input]) -> list[CallOutcome]:
        """Inputs taken with one that killed the container: they go back to run elsewhere."""
        error = CallError(type_="ContainerExited", message="the container exited before this input ran")
        return [
            _call_outcome(item, Outcome.CRASHED, error=error)
            for item in items
            if self.queued.pop(item.call_id, None) is not None
        ]

    async def _run(self, item: Input) -> CallOutcome:
        self.running[item.call_id] = running = Running(item.lease_token)
        try:
            if self.container is None:
                assert self.start_error is not None
                return _call_outcome(item, self.start_outcome, error=self.start_error)
            if self.asleep is not None:
                try:
                    await self._wake(item.call_id)
                except Exception as exc:  # gone for good: the call runs again, on a container of its own
                    log.warning("container failed to wake", extra={"container": self.id, "error": str(exc)[:500]})
                    self.exit_reason = f"could not wake: {exc}"[:4000]
                    error = CallError(type_="ContainerExited", message=f"the container could not wake: {exc}"[:4000])
                    return _call_outcome(item, Outcome.CRASHED, error=error)
            begun = time.monotonic()
            done = await self.container.run(_container_input(item), timeout_s=item.timeout_seconds)
            took = time.monotonic() - begun
            previous = self.seconds_per_input
            self.seconds_per_input = took if previous is None else 0.8 * previous + 0.2 * took
            return _translate(item, done, running.lines)
        finally:
            self.running.pop(item.call_id, None)

    def _dead(self) -> bool:
        """The container exited, or never started for the agent's own reasons (then it answers one
        call and goes, so that a start of its own may do better)."""
        if self.container is None:
            return self.start_outcome is Outcome.CRASHED
        return self.container.exit_status is not None

    async def _report_out_of_band(self, outcomes: list[CallOutcome]) -> None:
        with contextlib.suppress(Unreachable, Refused):
            await self.api.report_outcomes(outcomes)

    async def _exit(self) -> None:
        try:
            await self._stop_container()
        finally:
            self.kit.gpus.release(self.id)  # however the container ended, its GPUs go back
            await ContainerCgroup.discard_prepared(self.id)  # an asleep one's, made for a wake that never came
            if self.kit.marks is not None:
                self.kit.marks.remove(self.id)

    async def _stop_container(self) -> None:
        if self.container is None:
            self.exit_reason = f"start failed: {self.start_error.message if self.start_error else 'unknown'}"
            return
        if self.asleep is not None:
            await self.asleep
        status = self.container.exit_status or await self.container.shutdown()
        self.exit_reason = self.exit_reason or status.reason

    def _on_output(self, stream: str, data: bytes) -> None:
        """Output is the running input's log when exactly one runs; otherwise the container's."""
        text = data.decode(errors="replace").rstrip("\n")
        if len(self.running) == 1:
            running = next(iter(self.running.values()))
            running.lines.extend(LogRecord(stream=stream, line=line[:16_000]) for line in text.split("\n"))
        else:
            log.info("container output", extra={"container": self.id, "stream": stream, "text": text[:2000]})

    def pending_logs(self) -> list[tuple[str, Running]]:
        return [(call_id, r) for call_id, r in self.running.items() if r.lines]


def _start_error(exc: Exception) -> CallError:
    if isinstance(exc, ContainerStartError) and exc.error is not None:
        return CallError(type_=exc.error.type, message=exc.error.message, traceback=exc.error.traceback)
    return CallError(type_=type(exc).__name__, message=str(exc)[:4000])


def _call_outcome(item: Input, outcome: Outcome, **fields: Any) -> CallOutcome:
    return CallOutcome(call_id=item.call_id, lease_token=item.lease_token, outcome=outcome, **fields)


def _container_input(item: Input) -> ContainerInput:
    """The input as the runtime takes it: JSON text, or the bytes of a pickle, passed on undecoded."""
    if isinstance(item.payload_b64, str):
        return ContainerInput(item.call_id, base64.b64decode(item.payload_b64), item.input_type.value)
    return ContainerInput(item.call_id, item.payload.encode(), item.input_type.value)


def _translate(item: Input, done: ContainerOutcome, lines: list[LogRecord]) -> CallOutcome:
    logs = list(lines)
    lines.clear()
    if done.status is OutcomeStatus.SUCCEEDED:
        if done.result_type != frames.CONTENT_JSON:  # opaque bytes: passed on as they are
            encoded = base64.b64encode(done.result or b"").decode()
            result_type = PayloadType(done.result_type)
            return _call_outcome(item, Outcome.SUCCEEDED, result_b64=encoded, result_type=result_type, logs=logs)
        return _call_outcome(item, Outcome.SUCCEEDED, result=(done.result or b"null").decode(), logs=logs)
    error = (
        CallError(type_=done.error.type, message=done.error.message, traceback=done.error.traceback)
        if done.error
        else None
    )
    if done.status is OutcomeStatus.TIMED_OUT:
        message = f"the call ran longer than its timeout of {item.timeout_seconds} s and was killed"
        return _call_outcome(item, Outcome.TIMED_OUT, error=CallError(type_="Timeout", message=message), logs=logs)
    if done.container_exit is not None:
        return _call_outcome(item, Outcome.CRASHED, error=error, logs=logs)
    return _call_outcome(item, Outcome.FAILED, error=error, logs=logs)


def _more(answer: NextInputAnswer) -> list[Input]:
    return [] if isinstance(answer.more, Unset) else list(answer.more)
