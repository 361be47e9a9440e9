"""Calls as users see them: submit, read, list, wait for, cancel."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.apps.models import App, Function
from api.calls.backlog import Backlog
from api.calls.dispatch import CompletionWaiter, Dispatcher, node_wake_key
from api.calls.handoff import IdleSlot, IdleSlots
from api.calls.logs import read_lines
from api.calls.models import Call, CallLogLine
from api.calls.quota import ActiveCallQuota
from api.calls.retries import max_attempts
from api.calls.schemas import CallError, CallInput, CallOut, MapInput, PayloadType, PickledInput
from api.calls.states import TERMINAL, CallStatus, sources_of
from api.calls.store import CallStore, Claimed, FunctionRef, insert_batch
from api.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from api.idempotency.service import IdempotencyService, request_digest
from api.ids import is_valid_id, new_id
from api.pagination import page_query, split_page

ID_PREFIX = "call"
BATCH_PREFIX = "map"
STALE_ROUTE_TRIES = 3  # a submit resolves its route again after a deploy, a rollback or a stop; this many times
JSON, PICKLE = PayloadType.JSON.value, PayloadType.PICKLE.value
# After the first of many calls ends, how long a wait for many gathers more before answering.
MANY_LINGER_SECONDS = 0.02
WAIT_POLL_SECONDS = 1.0  # completion notices are the fast path; this catches a lost one


@dataclass(frozen=True)
class CallFilter:
    status: CallStatus | None = None
    app: str | None = None
    function: str | None = None


def encoded_input(body: CallInput | PickledInput) -> tuple[bytes, str]:
    """(payload, input type) as stored: JSON re-encoded from its parsed form, a pickle as it came."""
    if isinstance(body, PickledInput):
        return body.payload, PICKLE
    return msgspec.json.encode(body), JSON


def call_out(call: Call) -> CallOut:
    result: Any = None
    result_b64: bytes | None = None
    if call.result is not None:
        if call.result_type == JSON:
            result = msgspec.json.decode(call.result)
        else:  # opaque: handed back as it came, never decoded here
            result_b64 = call.result
    return CallOut(
        id=call.id,
        status=CallStatus(call.status),
        app=call.app_name,
        function=call.function_name,
        version=call.version,
        attempt=call.attempt,
        max_attempts=call.max_attempts,
        created_at=call.created_at,
        started_at=call.started_at,
        finished_at=call.finished_at,
        cold_start=call.cold_start,
        cold_start_ms=call.cold_start_ms,
        node_id=call.node_id,
        container_id=call.container_id,
        result=result,
        result_type=PayloadType(call.result_type) if call.result_type is not None else None,
        result_b64=result_b64,
        error=msgspec.convert(call.error, CallError) if call.error else None,
    )


class CallService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: CallStore,
        dispatcher: Dispatcher,
        max_input_bytes: int,
        lost_attempt_retries: int = 2,
        quota: ActiveCallQuota | None = None,
        backlog: Backlog | None = None,
        idle_slots: IdleSlots | None = None,
    ) -> None:
        self.idle_slots = idle_slots
        self.quota = quota or ActiveCallQuota(0)
        self.backlog = backlog or Backlog()
        self.sessionmaker = sessionmaker
        self.store = store
        self.dispatcher = dispatcher
        self.max_input_bytes = max_input_bytes
        self.lost_attempt_retries = lost_attempt_retries

    async def resolve(
        self, session: AsyncSession, workspace_id: str, app: str, function: str, version: int | None
    ) -> tuple[App, Function]:
        app_row = await session.scalar(select(App).where(App.workspace_id == workspace_id, App.name == app))
        if app_row is None:
            raise NotFound(f"app {app[:64]!r} not found")
        if app_row.current_version is None:
            raise NotFound(f"app {app!r} is stopped: deploy it, or roll it back to a version, to start it again")
        wanted = version if version is not None else app_row.current_version
        fn = await session.scalar(
            select(Function).where(Function.app_id == app_row.id, Function.version == wanted, Function.name == function)
        )
        if fn is None:
            names = (
                await session.scalars(
                    select(Function.name).where(Function.app_id == app_row.id, Function.version == wanted)
                )
            ).all()
            if not names:
                raise NotFound(f"app {app!r} has no version {wanted}")
            raise NotFound(
                f"function {function[:64]!r} not found in app {app!r} version {wanted}; "
                f"functions: {', '.join(sorted(names))}"
            )
        return app_row, fn

    async def submit(
        self,
        workspace_id: str,
        app: str,
        function: str,
        body: CallInput | PickledInput,
        *,
        version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Call:
        payload, input_type = encoded_input(body)
        if len(payload) > self.max_input_bytes:
            raise PayloadTooLarge(f"call arguments are {len(payload)} bytes; the limit is {self.max_input_bytes} bytes")
        if idempotency_key is not None:
            call, function_id, fresh = await self._submit_once(
                workspace_id, app, function, body, (payload, input_type), version, idempotency_key
            )
            if not fresh:
                return call
        else:
            call = await self._submit_by_route(workspace_id, app, function, version, payload, input_type)
            if call.status == CallStatus.RUNNING.value:
                return call  # already a slot's: nothing to queue
            function_id = call.function_id
        # Committed before we publish or answer: an accepted call is never lost.
        if not await self.dispatcher.try_publish(function_id, [call.id]):
            async with self.sessionmaker() as session, session.begin():
                await session.execute(update(Call).where(Call.id == call.id).values(published_at=None))
        return call

    async def _submit_by_route(
        self, workspace_id: str, app: str, function: str, version: int | None, payload: bytes, input_type: str
    ) -> Call:
        """The common case: the function from this process's cache, and one statement that inserts the call
        (claimed by an idle slot here when there is one) and checks that the function is still current."""
        route = (workspace_id, app, function, version)
        fn = await self._resolve_route(*route)
        await self.quota.admit(self.store.count_active, workspace_id)
        for _ in range(STALE_ROUTE_TRIES):
            call = await self._insert_new(workspace_id, fn, payload, input_type, pinned=version is not None)
            if call is not None:
                return call
            self.store.forget(*route)  # a deploy, a rollback or a stop since `fn` was resolved
            fn = await self._resolve_route(*route)
        raise Conflict(
            f"app {app[:64]!r} changed version {STALE_ROUTE_TRIES} times while this call was submitted; submit it again"
        )

    async def _resolve_route(self, workspace_id: str, app: str, function: str, version: int | None) -> FunctionRef:
        """The function the route names, its backlog checked; raises NotFound, saying what is missing."""
        fn = await self.store.resolve(workspace_id, app, function, version)
        if fn is None:
            async with self.sessionmaker() as session:
                await self.resolve(session, workspace_id, app, function, version)  # raises, saying what is missing
            raise NotFound(f"function {function[:64]!r} not found in app {app[:64]!r}")
        await self._check_backlog(fn.name, fn.function_id, fn.spec)
        return fn

    async def _insert_new(
        self, workspace_id: str, fn: FunctionRef, payload: bytes, input_type: str, *, pinned: bool
    ) -> Call | None:
        """A new call, claimed at once by an idle slot of this process when there is one, else queued; None
        when `fn` is no longer the function its route names."""
        slot = self.idle_slots.take(fn.function_id) if self.idle_slots is not None else None
        if slot is not None:
            # Shielded: once the slot is taken, it hears what came of it even if this request goes away.
            return await asyncio.shield(self._insert_for(slot, workspace_id, fn, payload, input_type, pinned))
        return await self.store.insert(
            new_id(ID_PREFIX),
            workspace_id,
            fn,
            **self._limits(fn.spec),
            payload=payload,
            input_type=input_type,
            pinned=pinned,
        )

    async def _insert_for(
        self, slot: IdleSlot, workspace_id: str, fn: FunctionRef, payload: bytes, input_type: str, pinned: bool
    ) -> Call | None:
        """A new call, claimed at once by an idle slot of this process; queued when the slot's container no
        longer takes calls; None when `fn` is no longer what its route names. The slot is handed the call, or
        given back, whatever happens here."""
        assert self.idle_slots is not None
        lease_token = new_id("lease")
        try:
            call = await self.store.insert_claimed(
                new_id(ID_PREFIX),
                workspace_id,
                fn,
                **self._limits(fn.spec),
                payload=payload,
                input_type=input_type,
                container_id=slot.container_id,
                lease_token=lease_token,
                lease_seconds=slot.lease_seconds,
                cold_start_ms=slot.cold_start_ms,
                pinned=pinned,
            )
        except BaseException:
            self.idle_slots.give_back(slot)
            raise
        if call is not None and call.status == CallStatus.RUNNING.value:
            claimed = Claimed(call.id, lease_token, call.attempt, call.timeout_seconds, call.input_type, call.input)
            self.idle_slots.hand(slot, claimed)
        else:
            self.idle_slots.give_back(slot)
        return call

    def _limits(self, spec: dict[str, Any]) -> dict[str, int]:
        """`max_attempts` and `timeout_seconds` of a new call of the function with this spec."""
        return {
            "max_attempts": max_attempts(spec.get("retries", {}), self.lost_attempt_retries),
            "timeout_seconds": int(spec.get("timeout", 300)),
        }

    async def _submit_once(
        self,
        workspace_id: str,
        app: str,
        function: str,
        body: CallInput | PickledInput,
        encoded: tuple[bytes, str],
        version: int | None,
        idempotency_key: str,
    ) -> tuple[Call, str, bool]:
        """(call, function id, fresh): the key's call, new or the one made earlier with the same key."""
        async with self.sessionmaker() as session, session.begin():
            app_row, fn = await self.resolve(session, workspace_id, app, function, version)
            await self._check_backlog(fn.name, fn.id, fn.spec)
            keys = IdempotencyService(session, workspace_id)
            operation = f"call:{app_row.id}:{function}"
            earlier = await keys.claim(operation, idempotency_key, request_digest([body, version]))
            if earlier is not None:
                return await self._get(session, workspace_id, earlier), fn.id, False
            await self.quota.admit(self.store.count_active, workspace_id)  # a replay is not a new call
            call = Call(
                id=new_id(ID_PREFIX),
                workspace_id=workspace_id,
                app_id=app_row.id,
                function_id=fn.id,
                app_name=app_row.name,
                function_name=fn.name,
                version=fn.version,
                status=CallStatus.QUEUED.value,
                attempt=0,
                **self._limits(fn.spec),
                input=encoded[0],
                input_type=encoded[1],
                created_at=func.now(),
                published_at=func.now(),
            )
            session.add(call)
            await keys.record(operation, idempotency_key, call.id)
            await session.flush()
            await session.refresh(call)
        return call, fn.id, True

    async def submit_many(
        self,
        workspace_id: str,
        app: str,
        function: str,
        body: MapInput,
        *,
        version: int | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[str, list[str]]:
        """(batch id, call ids in input order): every call committed in one transaction, queued in one push."""
        if bool(body.inputs) == bool(body.inputs_b64):
            raise Unprocessable(
                "a map takes its inputs in `inputs` (JSON) or in `inputs_b64` (pickled): one of the two, not empty"
            )
        if body.inputs:
            payloads, input_type = [msgspec.json.encode(item) for item in body.inputs], JSON
        else:
            payloads, input_type = body.inputs_b64, PICKLE
        for index, payload in enumerate(payloads):
            if len(payload) > self.max_input_bytes:
                raise PayloadTooLarge(
                    f"input {index} is {len(payload)} bytes; the limit is {self.max_input_bytes} bytes per call"
                )
        async with self.sessionmaker() as session, session.begin():
            app_row, fn = await self.resolve(session, workspace_id, app, function, version)
            keys = IdempotencyService(session, workspace_id)
            operation = f"map:{app_row.id}:{function}"
            if idempotency_key is not None:
                earlier = await keys.claim(operation, idempotency_key, request_digest([body, version]))
                if earlier is not None:
                    made = await session.scalars(
                        select(Call.id).where(Call.batch_id == earlier).order_by(Call.batch_index)
                    )
                    return earlier, list(made.all())
            await self._check_backlog(fn.name, fn.id, fn.spec, adding=len(payloads))
            await self.quota.admit(self.store.count_active, workspace_id, len(payloads))
            batch_id = new_id(BATCH_PREFIX)
            ids = [new_id(ID_PREFIX) for _ in payloads]
            connection = await (await session.connection()).get_raw_connection()
            await insert_batch(
                connection.driver_connection,
                ids,
                workspace_id,
                FunctionRef(app_row.id, app_row.name, fn.id, fn.name, fn.version, fn.spec),
                **self._limits(fn.spec),
                payloads=payloads,
                input_type=input_type,
                batch_id=batch_id,
            )
            if idempotency_key is not None:
                await keys.record(operation, idempotency_key, batch_id)
        if not await self.dispatcher.try_publish(fn.id, ids):
            async with self.sessionmaker() as session, session.begin():
                await session.execute(update(Call).where(Call.batch_id == batch_id).values(published_at=None))
        return batch_id, ids

    async def wait_any(
        self, waiter: CompletionWaiter, workspace_id: str, call_ids: list[str], seconds: float
    ) -> list[Call]:
        """Those of the calls that have ended, as soon as one has, or after `seconds` (then maybe none)."""
        wanted = sorted({c for c in call_ids if is_valid_id(c, ID_PREFIX)})
        if not wanted:
            return []
        with waiter.watching_any(wanted) as done:
            ended = await self.store.ended(workspace_id, wanted)
            if not ended and seconds > 0:
                await asyncio.wait({done}, timeout=seconds)
                if done.done() and len(wanted) > 1:
                    await asyncio.sleep(MANY_LINGER_SECONDS)  # calls of a batch end close together
                ended = await self.store.ended(workspace_id, wanted)
        return ended

    async def _check_backlog(self, name: str, function_id: str, spec: dict[str, Any], adding: int = 1) -> None:
        await self.backlog.admit(
            self.dispatcher.queue_length, name, function_id, int(spec.get("max_pending", 10_000)), adding
        )

    async def get(self, workspace_id: str, call_id: str) -> Call:
        call = await self.store.read(workspace_id, call_id) if is_valid_id(call_id, ID_PREFIX) else None
        if call is None:
            raise NotFound(f"call {call_id[:64]!r} not found")
        return call

    async def _get(self, session: AsyncSession, workspace_id: str, call_id: str) -> Call:
        call = None
        if is_valid_id(call_id, ID_PREFIX):
            call = await session.scalar(select(Call).where(Call.workspace_id == workspace_id, Call.id == call_id))
        if call is None:
            raise NotFound(f"call {call_id[:64]!r} not found")
        return call

    async def wait(
        self, waiter: CompletionWaiter, workspace_id: str, call_id: str, seconds: float, *, known: Call | None = None
    ) -> Call:
        """The call once terminal, or as it stands after `seconds`. `known` is the call as the caller
        read it before watching began (a submit's answer): a notice sent since then is not missed."""
        deadline = time.monotonic() + seconds
        with waiter.watching(call_id) as done:
            call = known if known is not None else await self.get(workspace_id, call_id)
            while CallStatus(call.status) not in TERMINAL and (left := deadline - time.monotonic()) > 0:
                await asyncio.wait({done}, timeout=min(left, WAIT_POLL_SECONDS))
                ended = done.result() if done.done() else None
                call = ended if ended is not None else await self.get(workspace_id, call_id)
        return call

    async def find(
        self, workspace_id: str, filters: CallFilter, cursor: str | None, limit: int
    ) -> tuple[list[Call], str | None]:
        stmt = select(Call).where(Call.workspace_id == workspace_id)
        if filters.status is not None:
            stmt = stmt.where(Call.status == filters.status.value)
        if filters.app is not None:
            stmt = stmt.where(Call.app_name == filters.app)
        if filters.function is not None:
            stmt = stmt.where(Call.function_name == filters.function)
        async with self.sessionmaker() as session:
            rows = (await session.scalars(page_query(stmt, Call.id, cursor, limit))).all()
        return split_page(rows, limit, lambda c: c.id)

    async def logs(self, workspace_id: str, call_id: str, after: int, limit: int) -> list[CallLogLine]:
        async with self.sessionmaker() as session:
            await self._get(session, workspace_id, call_id)
            return await read_lines(session, call_id, after, limit)

    async def cancel(self, workspace_id: str, call_id: str) -> Call:
        """Queued calls never run; a running one is killed on its node. Terminal calls stay as they are."""
        async with self.sessionmaker() as session, session.begin():
            call = await self._get(session, workspace_id, call_id)
            cancelled: Call | None = await session.scalar(
                update(Call)
                .where(Call.id == call.id, Call.status.in_(sources_of(CallStatus.CANCELLED)))
                .values(
                    status=CallStatus.CANCELLED.value,
                    finished_at=func.now(),
                    error={"type": "Cancelled", "message": "cancelled by request"},
                )
                .returning(Call),
                # The call may end between the read and this update: then nothing here may mark the
                # object read above as stale; it is read again below.
                execution_options={"populate_existing": True, "synchronize_session": False},
            )
            if cancelled is None:  # it had ended (perhaps just now): answer with how it ended
                await session.refresh(call)
                return call
        if cancelled.node_id is not None:
            await self.dispatcher.wake(node_wake_key(cancelled.node_id))
        await self.dispatcher.notify_done([cancelled.id])
        return cancelled
