"""Stopping containers: one a user stops, or every container of an app that is stopped.

Whoever tells a container to stop says why in its `exit_reason` (`scaled down`, `stopped by request`,
…); when it ends, how it ended follows (`scaled down; exited cleanly`), so that an exited container
says both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.functions import Function

from api.calls.dispatch import container_wake_key, node_wake_key
from api.containers.models import Container
from api.execution.schemas import ContainerState

STOPPED_BY_REQUEST = "stopped by request"
SCALED_DOWN = "scaled down"
MADE_ROOM = "stopped to make room for another function's container"
NODE_DRAINING = "its node is draining"


def then(how: str) -> Function[str]:
    """A container's exit reason once it has ended: why it was told to stop, if it was, then how it ended."""
    return func.concat_ws("; ", Container.exit_reason, how)


async def stop_containers(session: AsyncSession, which: ColumnElement[Any], reason: str) -> set[str]:
    """Stop the containers `which` selects, for `reason`: those no node has taken yet end at once; a
    starting or ready one finishes the calls it runs, takes no more and exits. Returns the node and slot
    keys to wake once the caller has committed: the nodes that look must find the containers stopping."""
    await session.execute(
        update(Container)
        .where(which, Container.state == ContainerState.PENDING.value)
        .values(state=ContainerState.EXITED.value, exited_at=func.now(), exit_reason=reason)
    )
    stopping = (
        await session.execute(
            update(Container)
            .where(which, Container.state.in_([ContainerState.STARTING.value, ContainerState.READY.value]))
            .values(state=ContainerState.STOPPING.value, exit_reason=reason)
            .returning(Container.id, Container.node_id)
        )
    ).all()
    return {key for container, node in stopping for key in (node_wake_key(node), container_wake_key(container))}
