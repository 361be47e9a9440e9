"""Environment builds: handing requests to their node, recording how they go, listing them.

A request is handed out once: the poll that claims it stamps `delivered_at`. What happens when the
node never answers (it died, restarted, or the answer was lost on the way) is the scheduler's to
repair (scheduler.prebuild.overdue): it places the request again.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import Deployment, Function
from api.builds.models import EnvironmentBuild
from api.builds.schemas import MAX_BUILD_LOG_CHARS, BuildCommand, BuildList, BuildOut, BuildProgress
from api.builds.states import BuildState, sources_of
from api.deployments.image import ImageSpec
from api.errors import NotFound
from api.execution.schemas import BuildReport
from api.ids import new_id
from api.nodes.models import Node
from api.nodes.schemas import NodeState
from api.nodes.service import NodeService


def build_wake_key(node_id: str) -> str:
    """Pushed once a request is placed on the node: its waiting poll answers with the request."""
    return f"skiff:node:{node_id}:builds"


class BuildService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, workspace_id: str, node_id: str, epoch: int) -> list[BuildCommand]:
        """Requests placed on this node and not handed out yet, each handed out here exactly once;
        none while the node drains or when `epoch` is not its current one."""
        node_is_current = exists().where(
            Node.id == node_id,
            Node.workspace_id == workspace_id,
            Node.epoch == epoch,
            Node.state == NodeState.READY.value,
        )
        build = EnvironmentBuild
        claimed = (
            await self.session.execute(
                update(build)
                .where(
                    build.node_id == node_id,
                    build.state == BuildState.PENDING.value,
                    build.delivered_at.is_(None),
                    node_is_current,
                )
                .values(delivered_at=func.now(), node_epoch=epoch, deliveries=build.deliveries + 1)
                .returning(build.id, build.function_id, build.image_key)
            )
        ).all()
        if not claimed:
            return []
        functions = {
            fn.id: (fn, digest)
            for fn, digest in await self.session.execute(
                select(Function, Deployment.bundle_digest)
                .join(Deployment, Deployment.id == Function.deployment_id)
                .where(Function.id.in_({row.function_id for row in claimed}))
            )
        }
        return [
            BuildCommand(
                build_id=row.id,
                function_id=row.function_id,
                image_key=row.image_key,
                image=msgspec.convert(functions[row.function_id][0].spec.get("image") or {}, ImageSpec),
                bundle_digest=functions[row.function_id][1],
            )
            for row in claimed
        ]

    async def progress(self, workspace_id: str, build_id: str, report: BuildProgress) -> bool:
        """Moves a requested build on, as its node reports; false when the report is stale (the build
        ended already, or was placed on another node since)."""
        target = BuildState(report.state)
        build = EnvironmentBuild
        values: dict[str, object] = {"state": target.value}
        if target is BuildState.BUILDING:
            values["started_at"] = func.now()
        else:
            values |= {"seconds": report.seconds, "log": report.log[-MAX_BUILD_LOG_CHARS:], "finished_at": func.now()}
        moved = await self.session.scalar(
            update(build)
            .where(
                build.id == build_id,
                build.workspace_id == workspace_id,
                build.node_id == report.node_id,
                build.state.in_(sources_of(target)),
            )
            .values(values)
            .returning(build.id)
        )
        if moved is not None:
            return True
        if await self.session.scalar(select(build.id).where(build.id == build_id, build.workspace_id == workspace_id)):
            return False
        raise NotFound(f"build {build_id[:64]!r} not found")

    async def record(self, workspace_id: str, report: BuildReport) -> None:
        """A container's start built an environment: that ends a request open for the function on the
        same node, or completes one that ended the same way, if there is one; a build of its own otherwise."""
        await NodeService(self.session).get(workspace_id, report.node_id)
        deployment_id = await self.session.scalar(
            select(Function.deployment_id).where(
                Function.id == report.function_id, Function.workspace_id == workspace_id
            )
        )
        if deployment_id is None:
            raise NotFound(f"function {report.function_id[:64]!r} not found")
        state = BuildState.SUCCEEDED if report.succeeded else BuildState.FAILED
        ended = {
            "state": state.value,
            "seconds": report.seconds,
            "log": report.log[-MAX_BUILD_LOG_CHARS:],
            "finished_at": func.now(),
        }
        build = EnvironmentBuild
        of_this_build = (
            build.workspace_id == workspace_id,
            build.function_id == report.function_id,
            build.node_id == report.node_id,
        )
        requested = await self.session.scalar(
            update(build).where(*of_this_build, build.state.in_(sources_of(state))).values(ended).returning(build.id)
        )
        if requested is None:
            # The request ended already, reported by the node while it waited for this very build: the
            # container's report completes that row with the build's own figures, and adds none.
            requested = await self.session.scalar(
                update(build)
                .where(*of_this_build, build.requested, build.state == state.value)
                .values(seconds=report.seconds, log=ended["log"])
                .returning(build.id)
            )
        if requested is None:
            self.session.add(
                build(
                    id=new_id("build"),
                    workspace_id=workspace_id,
                    deployment_id=deployment_id,
                    function_id=report.function_id,
                    node_id=report.node_id,
                    image_key=report.image_key,
                    **ended,
                )
            )

    async def of_deployment(self, deployment: Deployment) -> BuildList:
        now: datetime = await self.session.scalar(select(func.now()))  # type: ignore[assignment]
        rows = await self.session.execute(
            select(EnvironmentBuild, Function.name, Node.name)
            .join(Function, Function.id == EnvironmentBuild.function_id)
            .outerjoin(Node, Node.id == EnvironmentBuild.node_id)
            .where(EnvironmentBuild.deployment_id == deployment.id)
            .order_by(EnvironmentBuild.created_at, EnvironmentBuild.id)
        )
        return BuildList(
            items=[build_out(build, function, node, now) for build, function, node in rows.all()],
            planned=deployment.environments_planned,
        )


def build_out(build: EnvironmentBuild, function: str, node: str | None, now: datetime) -> BuildOut:
    state = BuildState(build.state)
    seconds = build.seconds
    if state is BuildState.BUILDING and build.started_at is not None:
        seconds = max((now - build.started_at).total_seconds(), 0.0)
    return BuildOut(
        id=build.id,
        function=function,
        state=state,
        node_id=build.node_id,
        node=node,
        image_key=build.image_key,
        succeeded=state is BuildState.SUCCEEDED,
        requested=build.requested,
        seconds=seconds,
        log=build.log,
        created_at=build.created_at,
        started_at=build.started_at,
        finished_at=build.finished_at,
    )
