"""The IO around the prebuild core: read new versions, requests on their way and the ready nodes,
then write the plan: requests placed on nodes (or waiting for one), repairs of lost ones."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import App, Deployment, Function
from api.builds.models import EnvironmentBuild
from api.builds.service import build_wake_key
from api.builds.states import OPEN, BuildState
from api.ids import new_id
from api.nodes.models import Node
from api.nodes.schemas import NodeState
from scheduler.placement import NodeSnapshot
from scheduler.prebuild import NodeLife, OpenBuild, needs_build, overdue, plan_builds
from scheduler.scaling import request_of

log = logging.getLogger("skiff.scheduler")
OPEN_STATES = sorted(state.value for state in OPEN)
ALREADY_BUILT = "the environment was built on this node already: nothing to build\n"


async def request_builds(session: AsyncSession) -> set[str]:
    """Returns the wake keys of the nodes given requests: wake them once the session has committed."""
    now: datetime = await session.scalar(select(func.now()))  # type: ignore[assignment]
    await _repair(session, now)
    new = await _new_functions(session)
    waiting = await _waiting_requests(session)
    functions = new | {fn.id: fn for _, fn in waiting.values()}
    if not functions:
        return set()
    nodes = await _capacity(session, {fn.workspace_id for fn in functions.values()})
    await _add_recorded(session, nodes, {fn.image_key for fn in functions.values()})
    building = await _building(session)
    placed: set[str] = set()
    for workspace_id, members in _by_workspace(functions.values()).items():
        plan = plan_builds(
            [request_of(fn.spec, fn.image_key, fn.id) for fn in members], nodes.get(workspace_id, []), building
        )
        for fn in members:
            node_id = plan.build.get(fn.id)
            if fn.id in waiting:
                await _place_waiting(session, waiting[fn.id][0], node_id, plan.cached.get(fn.id))
            elif fn.id not in plan.cached:
                session.add(_request(fn, node_id))
            if node_id is not None:
                placed.add(node_id)
    await session.flush()
    return {build_wake_key(node_id) for node_id in placed}


async def _repair(session: AsyncSession, now: datetime) -> None:
    build = EnvironmentBuild
    rows = (
        await session.execute(
            select(
                build.id,
                build.node_id,
                build.state,
                build.delivered_at,
                build.node_epoch,
                build.started_at,
                build.deliveries,
            ).where(build.requested, build.state.in_(OPEN_STATES), build.node_id.is_not(None))
        )
    ).all()
    if not rows:
        return
    lives = {
        node_id: NodeLife(ready=state == NodeState.READY.value, epoch=epoch)
        for node_id, state, epoch in await session.execute(
            select(Node.id, Node.state, Node.epoch).where(Node.id.in_({r.node_id for r in rows}))
        )
    }
    open_builds = [
        OpenBuild(
            id=r.id,
            node_id=r.node_id,
            building=r.state == BuildState.BUILDING.value,
            delivered_at=r.delivered_at,
            node_epoch=r.node_epoch,
            started_at=r.started_at,
            deliveries=r.deliveries,
        )
        for r in rows
    ]
    verdict = overdue(open_builds, lives, now)
    if verdict.replace:
        log.warning("build requests lost on their way: placing them again", extra={"builds": verdict.replace})
        await session.execute(
            update(build)
            .where(build.id.in_(verdict.replace), build.state.in_(OPEN_STATES))
            .values(node_id=None, state=BuildState.PENDING.value, delivered_at=None, node_epoch=None, started_at=None)
        )
    for build_id, why in verdict.fail.items():
        log.warning("build request failed", extra={"build": build_id, "reason": why})
        await session.execute(
            update(build)
            .where(build.id == build_id, build.state.in_(OPEN_STATES))
            .values(state=BuildState.FAILED.value, log=why + "\n", finished_at=func.now())
        )


async def _new_functions(session: AsyncSession) -> dict[str, Function]:
    """The functions needing a build in versions not planned yet, which are planned from now on.
    Only current versions get builds: an older one deployed just before is already replaced."""
    rows = (
        await session.execute(
            select(Deployment.id, Deployment.version, App.current_version)
            .join(App, App.id == Deployment.app_id)
            .where(Deployment.environments_planned.is_(False))
        )
    ).all()
    if not rows:
        return {}
    await session.execute(
        update(Deployment).where(Deployment.id.in_([r.id for r in rows])).values(environments_planned=True)
    )
    current = [r.id for r in rows if r.version == r.current_version]
    functions = await session.scalars(select(Function).where(Function.deployment_id.in_(current)))
    return {fn.id: fn for fn in functions if needs_build(fn.spec)}


async def _waiting_requests(session: AsyncSession) -> dict[str, tuple[str, Function]]:
    """Requests no node could take when they were made (or placed again): function id → (request id,
    function). A function has one request at most: its version is planned once."""
    rows = await session.execute(
        select(EnvironmentBuild.id, Function)
        .join(Function, Function.id == EnvironmentBuild.function_id)
        .where(EnvironmentBuild.state == BuildState.PENDING.value, EnvironmentBuild.node_id.is_(None))
    )
    return {fn.id: (request_id, fn) for request_id, fn in rows.all()}


async def _building(session: AsyncSession) -> dict[str, frozenset[str]]:
    rows = await session.execute(
        select(EnvironmentBuild.node_id, EnvironmentBuild.image_key).where(
            EnvironmentBuild.state.in_(OPEN_STATES), EnvironmentBuild.node_id.is_not(None)
        )
    )
    keys: dict[str, set[str]] = defaultdict(set)
    for node_id, image_key in rows.all():
        if node_id is not None:
            keys[node_id].add(image_key)
    return {node_id: frozenset(found) for node_id, found in keys.items()}


async def _capacity(session: AsyncSession, workspace_ids: set[str]) -> dict[str, list[NodeSnapshot]]:
    """Ready nodes by workspace at their whole capacity: a node could run a function it is busy
    with others now, and a build reserves nothing."""
    nodes = await session.scalars(
        select(Node).where(Node.state == NodeState.READY.value, Node.workspace_id.in_(workspace_ids))
    )
    by_workspace: dict[str, list[NodeSnapshot]] = defaultdict(list)
    for node in nodes:
        by_workspace[node.workspace_id].append(
            NodeSnapshot(
                id=node.id,
                cpu_free=node.cpus,
                memory_free_mib=node.memory_mib,
                gpus_free=dict(Counter(str(gpu["model"]) for gpu in node.gpus)),
                labels=dict(node.labels),
                cached_images=frozenset(node.cached_images or ()),
                cpu_total=node.cpus,
            )
        )
    return by_workspace


async def _add_recorded(session: AsyncSession, nodes: dict[str, list[NodeSnapshot]], image_keys: set[str]) -> None:
    """A node reports the environments it holds with its polls; one built there by a container's start
    since its last poll is known already by its recorded build, and needs no request."""
    rows = await session.execute(
        select(EnvironmentBuild.node_id, EnvironmentBuild.image_key).where(
            EnvironmentBuild.state == BuildState.SUCCEEDED.value, EnvironmentBuild.image_key.in_(image_keys)
        )
    )
    built: dict[str, set[str]] = defaultdict(set)
    for node_id, image_key in rows.all():
        if node_id is not None:
            built[node_id].add(image_key)
    for workspace_id, snapshots in nodes.items():
        nodes[workspace_id] = [
            replace(n, cached_images=n.cached_images | built[n.id]) if n.id in built else n for n in snapshots
        ]


def _by_workspace(functions: Iterable[Function]) -> dict[str, list[Function]]:
    grouped: dict[str, list[Function]] = defaultdict(list)
    for fn in sorted(functions, key=lambda f: f.id):
        grouped[fn.workspace_id].append(fn)
    return grouped


def _request(fn: Function, node_id: str | None) -> EnvironmentBuild:
    return EnvironmentBuild(
        id=new_id("build"),
        workspace_id=fn.workspace_id,
        deployment_id=fn.deployment_id,
        function_id=fn.id,
        node_id=node_id,
        image_key=fn.image_key,
        state=BuildState.PENDING.value,
        requested=True,
    )


async def _place_waiting(session: AsyncSession, request_id: str, node_id: str | None, cached_on: str | None) -> None:
    build = EnvironmentBuild
    waiting = (build.id == request_id, build.state == BuildState.PENDING.value, build.node_id.is_(None))
    if node_id is not None:
        await session.execute(update(build).where(*waiting).values(node_id=node_id))
    elif cached_on is not None:  # built meanwhile, by a call's container or another version's request
        await session.execute(
            update(build)
            .where(*waiting)
            .values(node_id=cached_on, state=BuildState.SUCCEEDED.value, log=ALREADY_BUILT, finished_at=func.now())
        )
