"""The agent's side of the call path: node polls (commands, heartbeats, leases) and container
slots asking for their next input (claiming calls from the function's queue)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import timedelta

import msgspec
from redis.exceptions import RedisError
from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.apps.models import App, Deployment, Function
from api.auth.principal import Principal
from api.builds.schemas import BuildProgress
from api.builds.service import BuildService, build_wake_key
from api.calls.dispatch import CompletionWaiter, Dispatcher, container_wake_key, node_wake_key, queue_key
from api.calls.handoff import IdleSlot, IdleSlots
from api.calls.logs import append_lines
from api.calls.models import Call
from api.calls.schemas import PayloadType
from api.calls.states import CallStatus
from api.calls.store import CallStore, Claimed, Result, SlotState
from api.containers.models import Container
from api.containers.stopping import NODE_DRAINING, then
from api.errors import Conflict, NotFound
from api.execution.outcomes import OutcomeRecorder, late_report, stored_result
from api.execution.schemas import (
    BuildReport,
    CallOutcome,
    ContainerReport,
    ContainerSpec,
    ContainerState,
    Input,
    LogShipment,
    NextInput,
    NextInputAnswer,
    NodePoll,
    NodeWork,
    Outcome,
)
from api.ids import new_id
from api.nodes.models import Node
from api.nodes.schemas import NodeState
from api.nodes.service import NodeService
from api.secrets.crypto import Keyring
from api.secrets.service import open_secrets

LIVE = (
    ContainerState.PENDING.value,
    ContainerState.STARTING.value,
    ContainerState.READY.value,
    ContainerState.STOPPING.value,
)


class ExecutionService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: CallStore,
        dispatcher: Dispatcher,
        *,
        lease_seconds: float,
        max_result_bytes: int,
        waiter: CompletionWaiter | None = None,
        keyring: Keyring | None = None,
        idle_slots: IdleSlots | None = None,
    ) -> None:
        self.idle_slots = idle_slots
        self.sessionmaker = sessionmaker
        self.store = store
        self.dispatcher = dispatcher
        self.lease = timedelta(seconds=lease_seconds)
        self.max_result_bytes = max_result_bytes
        self.waiter = waiter
        self.keyring = keyring or Keyring([])

    # ---- node polls -------------------------------------------------------------------------

    async def poll(self, principal: Principal, node_id: str, body: NodePoll) -> NodeWork:
        deadline = time.monotonic() + body.wait_seconds
        if body.full:
            work = await self._poll_once(principal, node_id, body, first=True)
        else:
            work = await self._woken(principal, node_id, body)
        keys = [node_wake_key(node_id), build_wake_key(node_id)]
        while not _has_work(work) and (left := deadline - time.monotonic()) > 0:
            woken = await self.dispatcher.block_pop(keys, left)
            if woken is not None and woken[0] == keys[1]:
                work = await self._builds_placed(principal, node_id, body)
            else:
                work = await self._woken(principal, node_id, body)
        return work

    async def _builds_placed(self, principal: Principal, node_id: str, body: NodePoll) -> NodeWork:
        """A poll's look after the scheduler placed build requests on the node: it claims only those
        (stop and abandon wait for the agent's next poll, which comes at once)."""
        builds = []
        if not body.draining:
            async with self.sessionmaker() as session, session.begin():
                builds = await BuildService(session).claim(principal.workspace_id, node_id, body.epoch)
        return NodeWork(start=[], stop=[], abandon=[], builds=builds, lease_seconds=self.lease.total_seconds())

    async def _woken(self, principal: Principal, node_id: str, body: NodePoll) -> NodeWork:
        """A look that only claims start commands, in one statement: a poll's after its wait (its
        first look took the heartbeat and the reports), and a short poll's first."""
        wake = await self.store.node_wake(
            principal.workspace_id, node_id, body.epoch, list(body.running_calls), claim=not body.draining
        )
        if wake is None:  # unknown node, or a stale epoch: the full look says which
            return await self._poll_once(principal, node_id, body, first=False)
        starts = [msgspec.convert(start, ContainerSpec) for start in wake.starts]
        if any(_declared_secrets(start) for start in starts):
            async with self.sessionmaker() as session:
                await self._open_secrets(session, principal.workspace_id, starts)
        return NodeWork(
            start=starts,
            stop=wake.stop,
            abandon=[c for c in body.running_calls if c not in wake.ours],
            lease_seconds=self.lease.total_seconds(),
        )

    async def _poll_once(self, principal: Principal, node_id: str, body: NodePoll, *, first: bool) -> NodeWork:
        drained: Sequence[str] = ()
        async with self.sessionmaker() as session, session.begin():
            node = await NodeService(session).heartbeat(principal, node_id, body.epoch)
            if first:
                if body.gpu_usage is not None:
                    node.gpu_usage = msgspec.to_builtins(body.gpu_usage)
                if body.cached_images is not None:
                    node.cached_images = sorted(body.cached_images)
                if body.warm_functions is not None:
                    node.warm_functions = sorted(body.warm_functions)
                await self._apply_reports(session, node, body.containers)
                await self._renew_leases(session, node, body.running_calls)
                if body.draining:
                    drained = await self._drain(session, node)
            start = [] if body.draining else await self._claim_starts(session, node)
            builds = [] if body.draining else await BuildService(session).claim(node.workspace_id, node.id, node.epoch)
            stop = (
                await session.scalars(
                    select(Container.id).where(
                        Container.node_id == node.id, Container.state == ContainerState.STOPPING.value
                    )
                )
            ).all()
            still_ours = await self._still_running(session, node, body.running_calls)
        if drained:
            # Slots waiting for inputs on these containers return at once and see `stop`.
            await self.dispatcher.wake(*(container_wake_key(c) for c in drained))
        return NodeWork(
            start=start,
            stop=list(stop),
            abandon=[c for c in body.running_calls if c not in still_ours],
            builds=builds,
            lease_seconds=self.lease.total_seconds(),
        )

    async def _renew_leases(self, session: AsyncSession, node: Node, running: Sequence[str]) -> None:
        if running:
            await session.execute(
                update(Call)
                .where(Call.node_id == node.id, Call.status == CallStatus.RUNNING.value, Call.id.in_(running))
                .values(lease_expires_at=func.now() + literal(self.lease))
            )

    async def _still_running(self, session: AsyncSession, node: Node, running: Sequence[str]) -> set[str]:
        if not running:
            return set()
        rows = await session.scalars(
            select(Call.id).where(
                Call.id.in_(running), Call.node_id == node.id, Call.status == CallStatus.RUNNING.value
            )
        )
        return set(rows.all())

    async def _drain(self, session: AsyncSession, node: Node) -> Sequence[str]:
        await session.execute(update(Node).where(Node.id == node.id).values(state=NodeState.DRAINING.value))
        return (
            await session.scalars(
                update(Container)
                .where(Container.node_id == node.id, Container.state.in_(LIVE))
                .values(
                    state=ContainerState.STOPPING.value,
                    exit_reason=func.coalesce(Container.exit_reason, NODE_DRAINING),  # or why it was stopping
                )
                .returning(Container.id)
            )
        ).all()

    async def _apply_reports(self, session: AsyncSession, node: Node, reports: Sequence[ContainerReport]) -> None:
        reported = {r.container_id: r for r in reports}
        live = (
            await session.scalars(select(Container).where(Container.node_id == node.id, Container.state.in_(LIVE)))
        ).all()
        for container in live:
            report = reported.get(container.id)
            if report is not None and report.gpus is not None and container.gpu_indices != report.gpus:
                container.gpu_indices = report.gpus  # once: an assignment does not change
            if report is not None and report.state is ContainerState.EXITED:
                container.state, container.exited_at = ContainerState.EXITED.value, func.now()
                container.exit_reason = then(report.exit_reason or "exited")
            elif report is None and container.state != ContainerState.PENDING.value:
                # The agent no longer knows it (it restarted, or the start command was lost).
                container.state, container.exited_at = ContainerState.EXITED.value, func.now()
                container.exit_reason = then("lost: the agent does not report it")

    async def _claim_starts(self, session: AsyncSession, node: Node) -> list[ContainerSpec]:
        rows = (
            await session.execute(
                update(Container)
                .where(Container.node_id == node.id, Container.state == ContainerState.PENDING.value)
                .values(state=ContainerState.STARTING.value, started_at=func.now())
                .returning(Container.id, Container.function_id, Container.gpu_model, Container.gpu_count)
            )
        ).all()
        if not rows:
            return []
        functions = (
            await session.execute(
                select(Function, App.name, Deployment.bundle_digest)
                .join(App, App.id == Function.app_id)
                .join(Deployment, Deployment.id == Function.deployment_id)
                .where(Function.id.in_({r.function_id for r in rows}))
            )
        ).all()
        by_id = {f.id: (f, app_name, digest) for f, app_name, digest in functions}
        specs = []
        for container_id, function_id, gpu_model, gpu_count in rows:
            fn, app_name, digest = by_id[function_id]
            specs.append(
                ContainerSpec(
                    container_id=container_id,
                    function_id=fn.id,
                    app=app_name,
                    function=fn.name,
                    version=fn.version,
                    bundle_digest=digest,
                    image_key=fn.image_key,
                    spec=fn.spec,
                    gpu_model=gpu_model,
                    gpu_count=gpu_count,
                )
            )
        await self._open_secrets(session, node.workspace_id, specs)
        return specs

    async def _open_secrets(self, session: AsyncSession, workspace_id: str, specs: list[ContainerSpec]) -> None:
        """Start commands carry the values of the secrets their function declares, and no others."""
        for spec in specs:
            if names := _declared_secrets(spec):
                spec.secrets, spec.secret_error = await open_secrets(session, self.keyring, workspace_id, names)

    # ---- container slots ----------------------------------------------------------------------

    async def next_input(self, principal: Principal, container_id: str, body: NextInput) -> NextInputAnswer:
        outcomes = ([body.outcome] if body.outcome is not None else []) + list(body.outcomes)
        workspace_id = principal.workspace_id
        if outcomes and body.cold_start_ms is not None:  # before the outcome: its answer says cold start
            await self.store.woke_for(workspace_id, outcomes[0].call_id, container_id, body.cold_start_ms)
        result = self._plain_success(outcomes[0]) if len(outcomes) == 1 else None
        if result is not None:  # the common ask: one statement for the outcome and the slot
            ended, slot = await self.store.succeed_and_idle(
                workspace_id,
                container_id,
                body.cold_start_ms,
                call_id=outcomes[0].call_id,
                lease_token=outcomes[0].lease_token,
                result=result,
            )
            accepted: bool | None = ended is not None
            if ended is not None:
                self._ended([ended])
        else:
            accepted = await self._record_all(principal, outcomes) if outcomes else None
            slot = await self.store.slot_idle(workspace_id, container_id, body.cold_start_ms, finished=bool(outcomes))
        if slot is None:
            async with self.sessionmaker() as session:
                await self._container(session, principal, container_id)  # raises: unknown, or exited
            raise NotFound(f"container {container_id[:64]!r} not found")
        starting = slot.was == ContainerState.STARTING.value
        if slot.state != ContainerState.READY.value:
            return await self._stop_slot(container_id, accepted)
        cold_start_ms = body.cold_start_ms if starting else None
        calls = await self._take(container_id, slot, body.wait_seconds, cold_start_ms, body.take)
        if not calls:
            state, asleep = await self.store.after_wait(container_id)
            if state != ContainerState.READY.value:  # woken to stop
                return await self._stop_slot(container_id, accepted)
            return NextInputAnswer(input=None, stop=False, outcome_accepted=accepted, sleep=asleep)
        first, *more = [_input(call) for call in calls]
        return NextInputAnswer(input=first, stop=False, outcome_accepted=accepted, more=more)

    async def _stop_slot(self, container_id: str, accepted: bool | None) -> NextInputAnswer:
        """A slot of a stopping container hears it; so does the next of its slots still waiting (one
        wake-up wakes one wait), and so on, so that a container of several slots stops at once."""
        await self.dispatcher.wake(container_wake_key(container_id))
        return NextInputAnswer(input=None, stop=True, outcome_accepted=accepted)

    async def _record_all(self, principal: Principal, outcomes: list[CallOutcome]) -> bool:
        """Records a batch of outcomes (plain successes in one statement); whether the first was accepted."""
        plain = {o.call_id: r for o in outcomes if (r := self._plain_success(o)) is not None}
        ended: list[Call] = []
        if plain:
            successes = [(o.call_id, o.lease_token, plain[o.call_id]) for o in outcomes if o.call_id in plain]
            ended = await self.store.succeed_many(principal.workspace_id, successes)
            self._ended(ended)
        accepted = {call.id for call in ended}
        for outcome in outcomes:
            if outcome.call_id not in plain:
                ok, terminal = await self._record_outcome(principal, outcome)
                if ok:
                    accepted.add(outcome.call_id)
                if terminal:
                    await self.dispatcher.notify_done([outcome.call_id])
        return outcomes[0].call_id in accepted

    def _plain_success(self, outcome: CallOutcome) -> Result | None:
        """The result of a success with no log lines that fits: such an outcome takes one statement."""
        if outcome.outcome is not Outcome.SUCCEEDED or outcome.logs:
            return None
        result = stored_result(outcome)
        return result if len(result.value) <= self.max_result_bytes else None

    def _ended(self, calls: list[Call]) -> None:
        if self.waiter is not None:
            for call in calls:
                self.waiter.settle(call)  # requests here waiting for it answer now; others hear from Redis
        self.dispatcher.notify_done_soon([call.id for call in calls])

    async def _record_outcome(self, principal: Principal, outcome: CallOutcome) -> tuple[bool, bool]:
        """(accepted, terminal). A plain success is one statement; anything else takes the recorder's way."""
        result = self._plain_success(outcome)
        if result is not None:
            success = (outcome.call_id, outcome.lease_token, result)
            ended = await self.store.succeed_many(principal.workspace_id, [success])
            if ended and self.waiter is not None:
                self.waiter.settle(ended[0])
            return bool(ended), bool(ended)
        async with self.sessionmaker() as session, session.begin():
            owned = await session.scalar(
                select(Call.id).where(Call.id == outcome.call_id, Call.workspace_id == principal.workspace_id)
            )
            if owned is None:
                return False, False
            return await OutcomeRecorder(session, self.max_result_bytes).record(outcome)

    async def _container(self, session: AsyncSession, principal: Principal, container_id: str) -> Container:
        container = await session.scalar(
            select(Container).where(Container.id == container_id, Container.workspace_id == principal.workspace_id)
        )
        if container is None:
            raise NotFound(f"container {container_id[:64]!r} not found")
        if container.state == ContainerState.EXITED.value:
            raise Conflict(f"container {container_id} has exited ({container.exit_reason})")
        return container

    async def _take(
        self, container_id: str, slot: SlotState, wait_seconds: float, cold_start_ms: float | None, take: int
    ) -> list[Claimed]:
        """Pop call ids from the function's queue and claim those still queued: the first one waited
        for, then up to `take - 1` more that are queued already (never waiting for them). While it
        waits, a call submitted to this process may be handed to the slot directly (api.calls.handoff)."""
        deadline = time.monotonic() + wait_seconds
        keys = [queue_key(slot.function_id), container_wake_key(container_id)]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:  # a blocking pop's timeout of 0 means forever: a slot that may not wait pops
                ids = await self.dispatcher.pop_many(keys[0], take)
                if not ids:
                    return []
            else:  # answers at once when the queue holds ids: it is named first
                item = await self._wait_for_input(container_id, slot, keys, left, take, cold_start_ms)
                if isinstance(item, Claimed):
                    return [item]
                if item is None or item[0] == keys[1]:
                    return []
                ids = item[1]
            calls = await self.store.claim_many(
                [i.decode() for i in ids],
                slot,
                container_id,
                lease_tokens=[new_id("lease") for _ in ids],
                lease_seconds=self.lease.total_seconds(),
                cold_start_ms=cold_start_ms,
            )
            if calls:
                return calls

    async def _wait_for_input(
        self,
        container_id: str,
        slot: SlotState,
        keys: list[str],
        seconds: float,
        take: int,
        cold_start_ms: float | None,
    ) -> Claimed | tuple[str, list[bytes]] | None:
        """A call handed over here, or what the blocking pop of `keys` gave (None: nothing in time).

        A pop still waiting when the slot gets a handed call (or when its ask's time is up) is parked,
        not ended: the slot's next ask takes it up, so a warm slot keeps one pop waiting in Redis
        rather than starting and ending one per call. What a parked pop takes meanwhile goes back to
        the head of the queue for the other slots."""
        if self.idle_slots is None:
            return await self.dispatcher.block_pop_many(keys, seconds, take)
        deadline = time.monotonic() + seconds
        popping: asyncio.Future[Popped] | None = self.idle_slots.unpark(container_id, take)
        while True:
            left = deadline - time.monotonic()
            if popping is None:
                if left <= 0:
                    return None
                popping = asyncio.ensure_future(self.dispatcher.block_pop_many(keys, left, take))
            idle = IdleSlot(container_id, slot.node_id, slot.function_id, self.lease.total_seconds(), cold_start_ms)
            self.idle_slots.offer(idle)
            try:
                await asyncio.wait((popping, idle.handed), timeout=max(left, 0), return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                self.idle_slots.withdraw(idle)  # a call handed over meanwhile runs again after its lease
                popping.cancel()
                raise
            if not idle.handed.done() and self.idle_slots.withdraw(idle):
                if not popping.done():  # this ask's time is up; the pop waits on for the next one
                    self._park(container_id, take, popping, keys)
                    return None
                item = popping.result()
                if item is None and deadline - time.monotonic() > 0:
                    popping = None  # a pop taken up from an earlier ask ran out first
                    continue
                return item
            handed = await idle.handed  # resolved at once, or soon: a submit took the slot
            if handed is None and not popping.done():
                continue  # that submit could not use the slot; still waiting
            if handed is None:
                return popping.result()
            if popping.done():
                await self._put_back_popped(popping, *keys)
            else:
                self._park(container_id, take, popping, keys)
            return handed

    def _park(self, container_id: str, take: int, popping: asyncio.Future[Popped], keys: list[str]) -> None:
        assert self.idle_slots is not None
        self.idle_slots.park(container_id, take, popping, lambda: self._put_back_popped(popping, *keys))

    async def _put_back_popped(self, popping: asyncio.Future[Popped], queue: str, wake: str) -> None:
        """Puts back what an ended pop took and nobody used: call ids at the head of the queue, in
        order, and a wake-up of the container (it is being stopped) for its next ask to find."""
        with contextlib.suppress(RedisError, OSError):
            item = popping.result()
            if item is not None and item[0] == queue:
                await self.dispatcher.put_back(queue, item[1])
            elif item is not None and item[0] == wake:
                await self.dispatcher.wake(wake)

    async def record_outcomes(self, principal: Principal, outcomes: Sequence[CallOutcome]) -> list[bool]:
        """Per outcome, whether it was recorded. A batch of which none was is a late report (T3): its
        attempts were superseded, so it is a Conflict that says so rather than a list of falses."""
        accepted: list[bool] = []
        ended: list[str] = []
        for outcome in outcomes:
            ok, terminal = await self._record_outcome(principal, outcome)
            accepted.append(ok)
            if terminal:
                ended.append(outcome.call_id)
        await self.dispatcher.notify_done(ended)
        if outcomes and not any(accepted):
            raise Conflict(late_report(outcomes, await self._call_states(principal, [o.call_id for o in outcomes])))
        return accepted

    async def _call_states(self, principal: Principal, call_ids: list[str]) -> dict[str, tuple[str, int]]:
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(Call.id, Call.status, Call.attempt).where(
                    Call.id.in_(call_ids), Call.workspace_id == principal.workspace_id
                )
            )
        return {call_id: (status, attempt) for call_id, status, attempt in rows}

    async def ship_logs(self, principal: Principal, call_id: str, shipment: LogShipment) -> bool:
        """Stores lines of a running attempt; false once the attempt no longer holds its lease."""
        async with self.sessionmaker() as session, session.begin():
            attempt = await session.scalar(
                select(Call.attempt).where(
                    Call.id == call_id,
                    Call.workspace_id == principal.workspace_id,
                    Call.lease_token == shipment.lease_token,
                    Call.status == CallStatus.RUNNING.value,
                )
            )
            if attempt is None:
                return False
            await append_lines(session, call_id, attempt, shipment.lines)
        return True

    async def record_build(self, principal: Principal, report: BuildReport) -> None:
        async with self.sessionmaker() as session, session.begin():
            await BuildService(session).record(principal.workspace_id, report)

    async def report_build_progress(self, principal: Principal, build_id: str, report: BuildProgress) -> bool:
        async with self.sessionmaker() as session, session.begin():
            return await BuildService(session).progress(principal.workspace_id, build_id, report)

    async def bundle_visible(self, principal: Principal, digest: str) -> bool:
        async with self.sessionmaker() as session:
            found = await session.scalar(
                select(Deployment.id)
                .where(Deployment.workspace_id == principal.workspace_id, Deployment.bundle_digest == digest)
                .limit(1)
            )
        return found is not None


def _has_work(work: NodeWork) -> bool:
    return bool(work.start or work.stop or work.abandon or work.builds)


Popped = tuple[str, list[bytes]] | None  # a blocking pop's answer: the key it popped from and the values


def _declared_secrets(spec: ContainerSpec) -> list[str]:
    names = spec.spec.get("secrets") or []  # absent in functions deployed before secrets existed
    return [str(name) for name in names]


def _input(call: Claimed) -> Input:
    opaque = call.input_type != PayloadType.JSON  # handed on in base64, never decoded here
    return Input(
        call_id=call.id,
        lease_token=call.lease_token,
        attempt=call.attempt,
        timeout_seconds=call.timeout_seconds,
        input_type=PayloadType(call.input_type),
        payload="" if opaque else call.input.decode(),
        payload_b64=call.input if opaque else None,
    )
