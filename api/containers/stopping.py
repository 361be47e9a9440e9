"""Stopping containers: one a user stops, or every container of an app that is stopped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.calls.dispatch import container_wake_key, node_wake_key
from api.containers.models import Container
from api.execution.schemas import ContainerState


async def stop_containers(session: AsyncSession, which: ColumnElement[Any], reason: str) -> set[str]:
    """Stop the containers `which` selects: those no node has taken yet end at once, with `reason`; a
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
            .values(state=ContainerState.STOPPING.value)
            .returning(Container.id, Container.node_id)
        )
    ).all()
    return {key for container, node in stopping for key in (node_wake_key(node), container_wake_key(container))}
