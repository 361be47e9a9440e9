"""What a scaling pass reads, in one statement: demand, live containers, their functions, ready nodes
and runtime overrides, with the database's `now()`.

One round trip and no ORM objects: a call for a function with no container waits for this read, the
plan and the insert of its container (the cold-start path), so the read is a single aggregate
decoded straight into the typed rows below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.calls.states import CallStatus
from api.execution.schemas import ContainerState
from api.nodes.schemas import NodeState

LIVE = (ContainerState.PENDING.value, ContainerState.STARTING.value, ContainerState.READY.value)


class Demand(msgspec.Struct, frozen=True):
    function_id: str
    queued: int
    running: int


class LiveRow(msgspec.Struct, frozen=True):
    """A container that is pending, starting or ready."""

    id: str
    function_id: str
    node_id: str
    state: str
    busy: int
    idle_since: datetime | None
    gpu_model: str | None
    gpu_count: int
    asleep: bool  # scaled down to no process, still placed (scheduler.autoscale)


class FunctionRow(msgspec.Struct, frozen=True):
    id: str
    workspace_id: str
    app_id: str
    name: str
    version: int
    image_key: str
    spec: dict[str, Any]
    current: bool  # the app's current version (others drain)


class NodeRow(msgspec.Struct, frozen=True):
    id: str
    workspace_id: str
    cpus: float
    memory_mib: int
    gpus: list[dict[str, Any]]
    labels: dict[str, str]
    cached_images: list[str] | None
    warm_functions: list[str] | None


class Overrides(msgspec.Struct, frozen=True):
    app_id: str
    function_name: str
    overrides: dict[str, int]


class Cluster(msgspec.Struct, frozen=True):
    demand: list[Demand]
    containers: list[LiveRow]
    functions: list[FunctionRow]
    nodes: list[NodeRow]
    settings: list[Overrides]


def _above_zero(column: str, key: str) -> str:
    return f"coalesce(({column} ->> '{key}')::int, 0) > 0"


_LIVE = ", ".join(f"'{state}'" for state in LIVE)
_QUEUED, _RUNNING = CallStatus.QUEUED.value, CallStatus.RUNNING.value
# :only is the functions to plan, or NULL for all: those with calls or containers, and current versions
# that keep containers without any call (min_containers or buffer_containers above zero, in the
# manifest or as an override; a superset, the policy has the last word).
CLUSTER_SQL = f"""
WITH demand AS (
    SELECT function_id,
        count(*) FILTER (WHERE status = '{_QUEUED}') AS queued,
        count(*) FILTER (WHERE status = '{_RUNNING}') AS running
    FROM calls
    WHERE status IN ('{_QUEUED}', '{_RUNNING}')
        AND (CAST(:only AS text[]) IS NULL OR function_id = ANY(CAST(:only AS text[])))
    GROUP BY function_id
), running AS (
    SELECT container_id, count(*) AS calls FROM calls WHERE status = '{_RUNNING}' GROUP BY container_id
), live AS (
    -- busy: a container's own count is its last asking slot's view; its running calls count too
    SELECT c.id, c.function_id, c.node_id, c.state, greatest(c.busy, coalesce(r.calls, 0)) AS busy, c.idle_since,
        c.gpu_model, c.gpu_count, c.asleep_since IS NOT NULL AS asleep
    FROM containers c LEFT JOIN running r ON r.container_id = c.id WHERE c.state IN ({_LIVE})
), standing AS (
    SELECT f.id FROM functions f
    JOIN apps a ON a.id = f.app_id AND a.current_version = f.version
    LEFT JOIN function_settings s ON s.app_id = f.app_id AND s.function_name = f.name
    WHERE CAST(:only AS text[]) IS NULL AND (
        {_above_zero("f.spec", "min_containers")} OR {_above_zero("f.spec", "buffer_containers")}
        OR {_above_zero("s.overrides", "min_containers")} OR {_above_zero("s.overrides", "buffer_containers")}
    )
), fns AS (
    SELECT f.id, f.workspace_id, f.app_id, f.name, f.version, f.image_key, f.spec,
        coalesce(a.current_version = f.version, false) AS current
    FROM functions f JOIN apps a ON a.id = f.app_id
    WHERE f.id IN (SELECT function_id FROM demand UNION SELECT function_id FROM live UNION SELECT id FROM standing)
)
SELECT now() AS now, json_build_object(
    'demand', (SELECT coalesce(json_agg(d), '[]') FROM demand d),
    'containers', (SELECT coalesce(json_agg(l), '[]') FROM live l),
    'functions', (SELECT coalesce(json_agg(f), '[]') FROM fns f),
    'nodes', (SELECT coalesce(json_agg(n), '[]') FROM (
        SELECT id, workspace_id, cpus, memory_mib, gpus, labels, cached_images, warm_functions
        FROM nodes WHERE state = '{NodeState.READY.value}'
    ) n),
    'settings', (SELECT coalesce(json_agg(s), '[]') FROM (
        SELECT app_id, function_name, overrides FROM function_settings WHERE app_id IN (SELECT app_id FROM fns)
    ) s)
)::text AS cluster
"""  # noqa: S608 - only constants are interpolated; values are bound
CLUSTER = text(CLUSTER_SQL)


async def read_cluster(session: AsyncSession, only: set[str] | None) -> tuple[datetime, Cluster]:
    """(the database's now(), what the pass plans from), in the session's transaction."""
    row = (await session.execute(CLUSTER, {"only": sorted(only) if only is not None else None})).one()
    return row.now, msgspec.json.decode(row.cluster, type=Cluster)
