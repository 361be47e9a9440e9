"""Repairs that keep the promises when processes die and Redis forgets: lost leases go back to the
queue (or fail after their last attempt), calls Redis does not hold are published again, and
containers of nodes that went silent are forgotten."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.calls.dispatch import ALIVE_MARKER, Dispatcher
from api.calls.models import Call
from api.calls.states import CallStatus
from api.containers.models import Container
from api.containers.stopping import then
from api.execution.schemas import ContainerState
from api.nodes.models import Node
from api.nodes.schemas import NodeState

log = logging.getLogger("skiff.scheduler")
PUBLISH_BATCH = 5000
STRANDED_AFTER = timedelta(seconds=30)


async def expire_leases(session: AsyncSession) -> list[str]:
    """Running attempts whose lease passed (by Postgres's clock); returns the calls that ended."""
    lost = CallStatus.QUEUED.value
    rows = (
        await session.execute(
            update(Call)
            .where(Call.status == CallStatus.RUNNING.value, Call.lease_expires_at <= func.now())
            .values(
                status=case((Call.attempt < Call.max_attempts, lost), else_=CallStatus.FAILED.value),
                error={
                    "type": "AttemptLost",
                    "message": "the attempt was lost: its node stopped renewing the lease",
                },
                finished_at=case((Call.attempt < Call.max_attempts, None), else_=func.now()),
                lease_token=None,
                lease_expires_at=None,
                published_at=None,
            )
            .returning(Call.id, Call.status)
        )
    ).all()
    if rows:
        log.warning("leases expired", extra={"calls": [r.id for r in rows]})
    return [r.id for r in rows if r.status != lost]


async def shift_deadlines(session: AsyncSession, stepped: timedelta) -> None:
    """After the database's clock stepped forward, running leases and node heartbeats move with it, so
    that none runs out early. A step back is only logged: deadlines then run long by at most the step,
    and nothing is judged lost before its time (shifting them back could undercut a lease renewed
    after the step)."""
    if stepped <= timedelta(0):
        log.warning("the database's clock stepped back", extra={"seconds": stepped.total_seconds()})
        return
    log.warning("the database's clock stepped forward; deadlines follow", extra={"seconds": stepped.total_seconds()})
    await session.execute(
        update(Call)
        .where(Call.status == CallStatus.RUNNING.value, Call.lease_expires_at.is_not(None))
        .values(lease_expires_at=Call.lease_expires_at + literal(stepped))
    )
    await session.execute(
        update(Node)
        .where(Node.state != NodeState.DOWN.value)
        .values(last_heartbeat_at=Node.last_heartbeat_at + literal(stepped))
    )


async def forget_lost_nodes(session: AsyncSession) -> None:
    """Containers of down nodes are gone; their running calls go back to the queue at once."""
    down = select(Node.id).where(Node.state == NodeState.DOWN.value).scalar_subquery()
    await session.execute(
        update(Container)
        .where(Container.node_id.in_(down), Container.state != ContainerState.EXITED.value)
        .values(state=ContainerState.EXITED.value, exited_at=func.now(), exit_reason=then("node lost"))
    )
    await session.execute(
        update(Call)
        .where(Call.node_id.in_(down), Call.status == CallStatus.RUNNING.value, Call.lease_expires_at > func.now())
        .values(lease_expires_at=func.now())  # expire_leases takes them on the same tick
    )


async def publish_pending(session: AsyncSession, dispatcher: Dispatcher, *, everything: bool = False) -> int:
    """Push queued calls that Redis does not hold: never published, retried, or (after a flush) all.
    Works through them in batches, oldest first; returns how many it pushed."""
    published, after = 0, ""
    while True:
        batch = await _publish_batch(session, dispatcher, everything=everything, after=after)
        published += len(batch)
        if len(batch) < PUBLISH_BATCH:
            return published
        after = batch[-1]


async def _publish_batch(session: AsyncSession, dispatcher: Dispatcher, *, everything: bool, after: str) -> list[str]:
    stmt = select(Call.id, Call.function_id).where(
        Call.status == CallStatus.QUEUED.value,
        (Call.not_before.is_(None)) | (Call.not_before <= func.now()),
        Call.id > after,
    )
    if not everything:
        stmt = stmt.where(Call.published_at.is_(None))
    rows = (await session.execute(stmt.order_by(Call.id).limit(PUBLISH_BATCH).with_for_update(skip_locked=True))).all()
    by_function: dict[str, list[str]] = {}
    for call_id, function_id in rows:
        by_function.setdefault(function_id, []).append(call_id)
    for function_id, call_ids in by_function.items():
        await dispatcher.publish(function_id, call_ids)
    if rows:
        await session.execute(update(Call).where(Call.id.in_([r.id for r in rows])).values(published_at=func.now()))
    return [r.id for r in rows]


async def republish_stranded(session: AsyncSession, dispatcher: Dispatcher) -> int:
    """Queued calls published a while ago whose function queue is empty were lost on the way
    (an API crash between commit and push, a pop whose reply was lost): publish them again."""
    rows = (
        await session.execute(
            select(Call.id, Call.function_id)
            .where(
                Call.status == CallStatus.QUEUED.value,
                Call.published_at < func.now() - literal(STRANDED_AFTER),
                (Call.not_before.is_(None)) | (Call.not_before <= func.now()),
            )
            .order_by(Call.id)
            .limit(PUBLISH_BATCH)
        )
    ).all()
    by_function: dict[str, list[str]] = {}
    for call_id, function_id in rows:
        by_function.setdefault(function_id, []).append(call_id)
    republished = 0
    for function_id, call_ids in by_function.items():
        if await dispatcher.queue_length(function_id) == 0:
            await dispatcher.publish(function_id, call_ids)
            await session.execute(update(Call).where(Call.id.in_(call_ids)).values(published_at=func.now()))
            republished += len(call_ids)
    if republished:
        log.warning("republished stranded calls", extra={"count": republished})
    return republished


async def redis_forgot(dispatcher: Dispatcher) -> bool:
    """Whether Redis lost its data since we last looked (flush or restart without persistence)."""
    return not await dispatcher.redis.exists(ALIVE_MARKER)


async def mark_redis_known(dispatcher: Dispatcher) -> None:
    await dispatcher.redis.set(ALIVE_MARKER, "1")
