"""The node loop: poll the API (heartbeat, container reports, lease renewals), act on its
commands, and fail closed: when the API cannot be reached for longer than a lease, every sandbox
is killed, because the calls in them may already be running elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from agent.api import Refused, Unreachable
from agent.inventory import read_gpu_usage
from agent.prebuild import build_ahead
from agent.supervisor import LOG_FLUSH_SECONDS, ContainerSupervisor, NodeKit
from skiff_client.models import BuildCommand, ContainerReport, ContainerState, GpuUsage, NodeWork
from skiff_client.types import Unset

log = logging.getLogger("skiff.agent")
# After a failed poll the next comes soon, then less often: a short cut of the network must not
# cost a lease, and an API that is down must not be hammered.
POLL_RETRY_FIRST_SECONDS = 0.1
POLL_RETRY_SECONDS = 1.0
# How long past its own wait a poll may take to answer: well inside a lease, so a dead
# connection is given up while the lease can still be renewed.
POLL_GRACE_SECONDS = 5.0
LEASE_WATCH_SECONDS = 0.5
GPU_USAGE_EVERY_SECONDS = 5.0  # an NVML query takes ~20 ms per device: not on every poll
# A short poll (commands only, no heartbeat, reports or lease renewals) comes only this soon after a
# full one that got through, so heartbeats and renewals keep their pace under a stream of commands.
SHORT_POLL_SECONDS = 1.0
# How long a poll waits while a container starts or a zygote warms: the API hears of a new warm zygote
# (a placement hint, and what lets a function's last container sleep) within this, not a whole wait.
WARMING_POLL_SECONDS = 0.2
# A start counts as such this long at most: one still going is building its environment (its zygote,
# if any, warms up later and is then watched by itself).
STARTING_SECONDS = 10.0


def may_poll_short(commands_came: bool, since_full_poll: float, reports: list[ContainerReport]) -> bool:
    """Whether the next poll can be a short one: right after a poll that brought commands, soon after
    the last full poll, with no exit to report. What is warm here (a placement hint) waits for the
    next full poll."""
    return (
        commands_came
        and since_full_poll < SHORT_POLL_SECONDS
        and not any(isinstance(report.exit_reason, str) for report in reports)
    )


def poll_wait(configured: float, warmth_changing: bool) -> float:
    """How long the next poll may wait for commands: briefly while what is warm here is about to change."""
    return min(configured, WARMING_POLL_SECONDS) if warmth_changing else configured


class NodeLoop:
    def __init__(
        self,
        kit: NodeKit,
        epoch: int,
        *,
        poll_wait_seconds: float,
        lease_seconds: float = 30.0,
        has_gpus: bool = False,
    ) -> None:
        self.kit = kit
        self.api = kit.api
        self.node_id = kit.node_id
        self.epoch = epoch
        self.poll_wait_seconds = poll_wait_seconds
        self.lease_seconds = lease_seconds
        self.containers: dict[str, ContainerSupervisor] = {}
        self.builds: dict[str, asyncio.Task[None]] = {}  # environments built ahead, by build id
        self.last_contact = time.monotonic()
        self.failed_polls = 0
        self.has_gpus = has_gpus
        self.gpu_usage_at = 0.0
        self.reported_warmth: tuple[list[str], list[str]] | None = None
        self.full_poll_at = -SHORT_POLL_SECONDS  # time.monotonic() when the last full poll that got through was sent
        self.commands_came = False  # the last poll brought commands

    async def run(self, stop: asyncio.Event) -> None:
        helpers = [asyncio.create_task(self._ship_logs(stop)), asyncio.create_task(self._watch_lease(stop))]
        try:
            while not stop.is_set():
                await self._poll_once(stop)
        finally:
            await self._drain()
            for helper in helpers:
                helper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*helpers)
            await self._cancel_builds()

    async def _watch_lease(self, stop: asyncio.Event) -> None:
        """A poll that hangs (a blackholed network) must not keep sandboxes running past their lease."""
        while not stop.is_set():
            await asyncio.sleep(LEASE_WATCH_SECONDS)
            await self._fail_closed_if_lease_lost()

    async def _poll_once(self, stop: asyncio.Event) -> None:
        reports, running = self._reports()
        wait = 0 if stop.is_set() else poll_wait(self.poll_wait_seconds, self._warmth_changing(reports))
        sent = time.monotonic()
        full = stop.is_set() or not may_poll_short(self.commands_came, sent - self.full_poll_at, reports)
        warmth = self._warmth_if_changed() if full else None
        try:
            work = await self.api.poll(
                self.node_id,
                self.epoch,
                reports,
                running,
                wait,
                answer_within=self._answer_within(wait),
                gpu_usage=await self._gpu_usage() if full else None,
                warmth=warmth,
                full=full,
            )
        except Unreachable as exc:
            log.warning("poll failed", extra={"error": str(exc)})
            await self._fail_closed_if_lease_lost()
            self.failed_polls += 1
            retry = min(POLL_RETRY_SECONDS, POLL_RETRY_FIRST_SECONDS * 2 ** (self.failed_polls - 1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry)
            return
        self.failed_polls = 0
        self.commands_came = bool(work.start or work.stop or work.abandon or work.builds)
        if full:
            self.full_poll_at = sent
            if warmth is not None:  # sent again with each poll until one gets through
                self.reported_warmth = warmth
            await self._answered(work, reports)
        else:  # it renewed nothing and took no reports: only its commands count
            await self._act(work)

    async def _answered(self, work: NodeWork, reports: list[ContainerReport], *, starting: bool = True) -> None:
        """A poll got through: the leases are renewed until the next, and its commands are carried out."""
        self.last_contact = time.monotonic()
        self.lease_seconds = work.lease_seconds
        self._forget_reported_exits(reports)
        await self._act(work, starting=starting)

    def _answer_within(self, wait: float) -> float:
        return wait + min(POLL_GRACE_SECONDS, self.lease_seconds / 2)

    async def _gpu_usage(self) -> list[GpuUsage] | None:
        if not self.has_gpus or time.monotonic() - self.gpu_usage_at < GPU_USAGE_EVERY_SECONDS:
            return None
        self.gpu_usage_at = time.monotonic()
        loads = await asyncio.to_thread(read_gpu_usage)
        return [
            GpuUsage(index=g.index, utilization_percent=g.utilization_percent, memory_used_mib=g.memory_used_mib)
            for g in loads
        ]

    def _warmth_changing(self, reports: list[ContainerReport]) -> bool:
        """A zygote is warming, or a container started lately (its function's zygote warms up after it)."""
        now = time.monotonic()
        lately = {c.id for c in self.containers.values() if now - c.received < STARTING_SECONDS}
        starting = (r.state is ContainerState.STARTING and r.container_id in lately for r in reports)
        return self.kit.zygotes.warming() or any(starting)

    def _warmth_if_changed(self) -> tuple[list[str], list[str]] | None:
        """Built environments and warm zygotes, sent only when they changed since the last full poll that got
        through."""
        warmth = (
            sorted(self.kit.environments.built_keys()),
            sorted({key.partition("@")[0] for key in self.kit.zygotes.warm_keys()}),
        )
        return None if warmth == self.reported_warmth else warmth

    def _reports(self) -> tuple[list[ContainerReport], list[str]]:
        reports = [c.report() for c in self.containers.values()]
        running = [call_id for c in self.containers.values() for call_id in c.held()]
        return reports, running

    def _forget_reported_exits(self, reports: list[ContainerReport]) -> None:
        for report in reports:
            if isinstance(report.exit_reason, str):
                known = self.containers.get(report.container_id)
                if known is not None and known.exit_reason is not None:
                    del self.containers[report.container_id]

    async def _act(self, work: NodeWork, *, starting: bool = True) -> None:
        for container_id in work.stop:  # first: a start may wait for what these give back (GPUs)
            if (stopping := self.containers.get(container_id)) is not None:
                await stopping.stop()
        for command in work.start if starting else ():
            if command.container_id not in self.containers:
                supervisor = ContainerSupervisor(command, self.kit)
                self.containers[command.container_id] = supervisor
                supervisor.launch()
        for call_id in work.abandon:
            for supervisor in self.containers.values():
                await supervisor.abandon(call_id)
        if starting and not isinstance(work.builds, Unset):
            self._build_ahead(work.builds)

    def _build_ahead(self, commands: list[BuildCommand]) -> None:
        for command in commands:
            if command.build_id not in self.builds:
                task = asyncio.create_task(build_ahead(command, self.kit), name=f"build {command.build_id}")
                self.builds[command.build_id] = task
                task.add_done_callback(functools.partial(self._build_ended, command.build_id))

    def _build_ended(self, build_id: str, _: asyncio.Task[None]) -> None:
        self.builds.pop(build_id, None)

    async def _cancel_builds(self) -> None:
        """On exit the node stops waiting for its builds; one cut short is built from scratch when next needed."""
        tasks = list(self.builds.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _fail_closed_if_lease_lost(self) -> None:
        if time.monotonic() - self.last_contact < self.lease_seconds:
            return
        for supervisor in self.containers.values():
            if supervisor.running:
                log.error("lease lost: killing the container", extra={"container": supervisor.id})
                await supervisor.kill("the node lost contact with the API for longer than a lease")

    async def _ship_logs(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(LOG_FLUSH_SECONDS)
            for supervisor in list(self.containers.values()):
                for call_id, running in supervisor.pending_logs():
                    lines, running.lines = running.lines, []
                    with contextlib.suppress(Unreachable, Refused):
                        await self.api.ship_logs(call_id, running.lease_token, lines)

    async def _drain(self) -> None:
        """On SIGTERM: tell the API we drain (it stops handing out inputs and places nothing here),
        finish running inputs, stop every container, report the exits once. Meanwhile the node keeps
        polling: its running calls keep their leases (or they would run again elsewhere), a call
        cancelled or taken away is killed here, and a lease lost to a partition still kills."""
        for supervisor in self.containers.values():
            await supervisor.stop()
        tasks = {s.task for s in self.containers.values() if s.task is not None}
        while True:
            reports, running = self._reports()
            try:
                work = await self.api.poll(
                    self.node_id, self.epoch, reports, running, 0, answer_within=self._answer_within(0), draining=True
                )
            except Unreachable as exc:
                log.warning("poll failed while draining", extra={"error": str(exc)})
                await self._fail_closed_if_lease_lost()
            except Refused:
                break  # the node is gone or re-registered: nothing here is ours to report
            else:
                await self._answered(work, reports, starting=False)
            tasks = {t for t in tasks if not t.done()}
            if not tasks:
                break
            await asyncio.wait(tasks, timeout=self._drain_poll_seconds())
        left = [s.task for s in self.containers.values() if s.task is not None]
        if left:
            await asyncio.gather(*left, return_exceptions=True)
        reports, _ = self._reports()
        with contextlib.suppress(Unreachable, Refused):
            await self.api.poll(
                self.node_id, self.epoch, reports, [], 0, answer_within=self._answer_within(0), draining=True
            )

    def _drain_poll_seconds(self) -> float:
        """How often a draining node polls: as it does otherwise, and well within a lease."""
        return min(self.poll_wait_seconds or POLL_RETRY_SECONDS, self.lease_seconds / 3)
