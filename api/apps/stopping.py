"""Stopping an app: it keeps its versions, runs nothing, and takes no calls until a deploy or a
rollback makes a version current again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import App, Function
from api.calls.dispatch import node_wake_key
from api.calls.models import Call
from api.calls.states import CallStatus, sources_of
from api.containers.models import Container
from api.containers.stopping import stop_containers

STOPPED_ERROR = {"type": "Cancelled", "message": "cancelled: the app was stopped"}


@dataclass(frozen=True)
class StoppedApp:
    app: App
    cancelled: list[str]  # calls that were queued or running
    wake: set[str]  # nodes and slots to wake once this is committed: they stop containers, kill calls


async def stop_app(session: AsyncSession, app: App) -> StoppedApp:
    """No version current; its queued and running calls cancelled; its containers stopped (those no
    node has taken yet end at once). The caller commits, then wakes `wake`."""
    app.current_version = None
    calls = (
        await session.execute(
            update(Call)
            .where(Call.app_id == app.id, Call.status.in_(sources_of(CallStatus.CANCELLED)))
            .values(
                status=CallStatus.CANCELLED.value,
                finished_at=func.now(),
                error=STOPPED_ERROR,
                lease_token=None,
                lease_expires_at=None,
            )
            .returning(Call.id, Call.node_id)
        )
    ).all()
    of_app = select(Function.id).where(Function.app_id == app.id).scalar_subquery()
    wake = {node_wake_key(node_id) for _, node_id in calls if node_id is not None}
    wake |= await stop_containers(session, Container.function_id.in_(of_app), "the app was stopped")
    return StoppedApp(app, [call_id for call_id, _ in calls], wake)
