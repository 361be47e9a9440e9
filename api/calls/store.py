"""The call path's statements, written by hand and run on raw asyncpg connections.

Submitting, claiming and finishing a call happen once per call on the platform's hottest path. Each
statement here is one round trip in its own transaction (autocommit), prepared once per pooled
connection, with none of the ORM's per-statement work. Everything else about calls, and every
uncommon case (idempotent submits, failures, retries, log lines), goes through the ORM.

The statements keep the rules the ORM code keeps: the moves of `api.calls.states`, a claim only of a
queued call whose backoff has passed, a terminal write only by the attempt that holds the lease,
and times and leases judged by Postgres `now()`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any, NamedTuple

import asyncpg
import msgspec
from sqlalchemy.orm import configure_mappers

from api.calls.models import Call
from api.calls.states import CallStatus, sources_of
from api.execution.schemas import ContainerState

CALL_COLUMNS = ", ".join(column.name for column in Call.__table__.columns)
CALL_COLUMNS_OF_C = ", ".join(f"c.{column.name}" for column in Call.__table__.columns)  # for `calls c`

QUEUED, RUNNING, SUCCEEDED = CallStatus.QUEUED.value, CallStatus.RUNNING.value, CallStatus.SUCCEEDED.value
STARTING, READY, EXITED = ContainerState.STARTING.value, ContainerState.READY.value, ContainerState.EXITED.value
PENDING, STOPPING = ContainerState.PENDING.value, ContainerState.STOPPING.value
assert QUEUED in sources_of(CallStatus.RUNNING) and RUNNING in sources_of(CallStatus.SUCCEEDED)

RESOLVE = """
SELECT a.id AS app_id, a.name AS app_name, f.id AS function_id, f.name, f.version, f.spec
FROM apps a JOIN functions f ON f.app_id = a.id
WHERE a.workspace_id = $1 AND a.name = $2 AND f.name = $3 AND f.version = coalesce($4::int, a.current_version)
  AND a.current_version IS NOT NULL
"""

# A submit's function comes from a cache (`ResolvedFunctions`): its insert checks that the app still
# takes calls and, unless the caller pinned the version ($12), that it is still the current one. When
# either has changed since (a deploy, a rollback, a stop) nothing is inserted, no row comes back, and the
# caller resolves the function again. This is a primary-key lookup beside the insert, where resolving
# each call was a statement and a round trip of its own.
LIVE = """EXISTS (
    SELECT 1 FROM apps
    WHERE id = $3::varchar AND current_version IS NOT NULL AND ($12::bool OR current_version = $7::int)
)"""

INSERT = f"""
INSERT INTO calls (id, workspace_id, app_id, function_id, app_name, function_name, version, status, attempt,
                   max_attempts, timeout_seconds, input, input_type, created_at, published_at)
SELECT $1, $2, $3, $4, $5, $6, $7, '{QUEUED}', 0, $8, $9, $10, $11, now(), now()
WHERE {LIVE}
RETURNING {CALL_COLUMNS}
"""

# A map's calls in one statement (an executemany of one INSERT per row costs the API and Postgres a
# bind and an execution each: about a second for 10,000). Inputs come as base64 text: a `bytea[]`
# parameter would cost each new connection a type lookup (see `_init_connection`).
INSERT_BATCH = f"""
INSERT INTO calls (id, workspace_id, app_id, function_id, app_name, function_name, version, status, attempt,
                   max_attempts, timeout_seconds, input, input_type, batch_id, batch_index, created_at, published_at)
SELECT u.id, $2, $3, $4, $5, $6, $7, '{QUEUED}', 0, $8, $9, decode(u.input, 'base64'), $11, $12, u.position - 1,
       now(), now()
FROM unnest($1::text[], $10::text[]) WITH ORDINALITY AS u(id, input, position)
"""


async def insert_batch(
    connection: asyncpg.Connection,
    ids: list[str],
    workspace_id: str,
    fn: FunctionRef,
    *,
    max_attempts: int,
    timeout_seconds: int,
    payloads: list[bytes],
    input_type: str,
    batch_id: str,
) -> None:
    """A map's calls, queued, in the transaction `connection` is in."""
    inputs = [base64.b64encode(payload).decode() for payload in payloads]
    await connection.execute(
        INSERT_BATCH, *_new_call(ids, workspace_id, fn, max_attempts, timeout_seconds, inputs, input_type), batch_id
    )


# A new call and its claim by an idle slot of this process, in one statement: queued and claimed at
# once, with the same lease, counters and cold-start marks as CLAIM_MANY gives a call's first attempt.
# When the container no longer takes calls (it is stopping or gone) the call is inserted queued; when
# the function is no longer the one the route names (LIVE), nothing is inserted and no slot is taken.
INSERT_CLAIMED = f"""
WITH slot AS (
    UPDATE containers SET busy = busy + 1, idle_since = NULL, asleep_since = NULL
    WHERE id = $13 AND function_id = $4 AND state = '{READY}' AND {LIVE}
    RETURNING id, node_id
)
INSERT INTO calls (id, workspace_id, app_id, function_id, app_name, function_name, version, status, attempt,
                   max_attempts, timeout_seconds, input, input_type, created_at, published_at,
                   lease_token, lease_expires_at, node_id, container_id, started_at, cold_start, cold_start_ms)
SELECT $1, $2, $3, $4, $5, $6, $7,
       CASE WHEN slot.id IS NULL THEN '{QUEUED}' ELSE '{RUNNING}' END, CASE WHEN slot.id IS NULL THEN 0 ELSE 1 END,
       $8, $9, $10, $11, now(), now(),
       CASE WHEN slot.id IS NOT NULL THEN $14 END,
       CASE WHEN slot.id IS NOT NULL THEN now() + make_interval(secs => $15) END,
       slot.node_id, slot.id,
       CASE WHEN slot.id IS NOT NULL THEN now() END,
       CASE WHEN slot.id IS NOT NULL THEN $16::float8 IS NOT NULL END,
       CASE WHEN slot.id IS NOT NULL THEN $16::float8 END
FROM (SELECT 1) one LEFT JOIN slot ON true
WHERE {LIVE}
RETURNING {CALL_COLUMNS}
"""

READ = f"SELECT {CALL_COLUMNS} FROM calls WHERE id = $1 AND workspace_id = $2"

ENDED = f"""
SELECT {CALL_COLUMNS} FROM calls
WHERE id = ANY($1::text[]) AND workspace_id = $2 AND status NOT IN ('{QUEUED}', '{RUNNING}')
"""

COUNT_ACTIVE = f"SELECT count(*) FROM calls WHERE workspace_id = $1 AND status IN ('{QUEUED}', '{RUNNING}')"

# Queued calls for one slot, in one statement with its container's busy count; each gets its own lease. Only the slot's
# very first input (its position 1) waited for the container's start.
#
# Statements that update calls by a list of ids hold their other conditions in one `(…) IS TRUE`, which
# no index serves and no partial index's predicate follows from: otherwise the planner may read every
# queued, running or active call of the function or workspace through a partial index (its statistics
# lag behind a burst of thousands) and join them to the few ids, where the primary key finds each in one
# step. During a map of 10,000 that was 5-10 ms per statement.
CLAIM_MANY = f"""
WITH wanted AS (
    SELECT id, lease, position FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(id, lease, position)
), claimed AS (
    UPDATE calls c
    SET status = '{RUNNING}', attempt = c.attempt + 1, lease_token = w.lease,
        lease_expires_at = now() + make_interval(secs => $5), node_id = $6, container_id = $4,
        started_at = now(),
        cold_start = (w.position = 1 AND $7::float8 IS NOT NULL),
        cold_start_ms = CASE WHEN w.position = 1 THEN $7::float8 END
    FROM wanted w
    WHERE c.id = w.id AND (c.function_id = $3 AND c.status = '{QUEUED}') IS TRUE
      AND (c.not_before IS NULL OR c.not_before <= now())
    RETURNING c.id, c.lease_token, c.attempt, c.timeout_seconds, c.input_type, c.input, w.position
), counted AS (
    UPDATE containers SET busy = busy + (SELECT count(*) FROM claimed), idle_since = NULL, asleep_since = NULL
    WHERE id = $4 AND EXISTS (SELECT 1 FROM claimed)
)
SELECT id, lease_token, attempt, timeout_seconds, input_type, input FROM claimed ORDER BY position
"""


def _succeed(call: str, lease: str, workspace: str, result: str, result_type: str, source: str = "") -> str:
    """A success, recorded only by the attempt that holds the lease; `source` names where the values come from."""
    return f"""
UPDATE calls c
SET status = '{SUCCEEDED}', result = {result}, result_type = {result_type}, error = NULL, finished_at = now(),
    lease_token = NULL, lease_expires_at = NULL
{source}
WHERE c.id = {call} AND c.lease_token = {lease} AND (c.workspace_id = {workspace} AND c.status = '{RUNNING}') IS TRUE
RETURNING {CALL_COLUMNS_OF_C}
"""


# Plain successes of several attempts in one statement. The results come as base64 text: a `bytea[]`
# parameter would cost each new connection a type lookup (see `_init_connection`).
SUCCEED_MANY = _succeed(
    "u.id",
    "u.lease",
    "$4",
    "decode(u.result, 'base64')",
    "u.result_type",
    source="FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) u(id, lease, result, result_type)",
)


def _slot_idle(container: str, workspace: str, cold_start_ms: str, finished: str) -> str:
    """A slot asking for its next input is idle until it gets one; its first ask makes a starting container ready.

    The container's idle time runs from its last input, which a claim clears and an ask reporting an
    outcome (`finished`) sets: an idle slot asks again each time its wait runs out, and those asks must not
    restart it, or a container whose scaledown window is longer than the agent's wait would never be
    stopped. The busy count is the asking slot's view; the scheduler counts running calls besides."""
    starting = f"before.state = '{STARTING}'"
    return f"""
UPDATE containers c
SET idle_since = CASE WHEN {finished} THEN now() ELSE coalesce(c.idle_since, now()) END, busy = 0,
    state = CASE WHEN {starting} THEN '{READY}' ELSE c.state END,
    ready_at = CASE WHEN {starting} THEN now() ELSE c.ready_at END,
    cold_start_ms = CASE WHEN {starting} THEN {cold_start_ms}::float8 ELSE c.cold_start_ms END
FROM (
    SELECT id, state FROM containers WHERE id = {container} AND workspace_id = {workspace} AND state <> '{EXITED}'
    FOR UPDATE
) before
WHERE c.id = before.id
RETURNING before.state AS was, c.state, c.function_id, c.node_id
"""


SLOT_IDLE = _slot_idle("$1", "$2", "$3", "$4")
AFTER_WAIT = "SELECT state, asleep_since IS NOT NULL AS asleep FROM containers WHERE id = $1"
WOKE_FOR = f"""
UPDATE calls SET cold_start = true, cold_start_ms = $3
WHERE id = $1 AND (container_id = $2 AND workspace_id = $4 AND status = '{RUNNING}') IS TRUE
"""
# The common ask in one statement: the slot's last input succeeded, and the slot is idle again.
SUCCEED_AND_IDLE = f"""
WITH slot AS ({_slot_idle("$1", "$2", "$3", "true")}), done AS ({_succeed("$4", "$5", "$2", "$6", "$7")})
SELECT slot.was, slot.state, slot.function_id AS slot_function_id, slot.node_id AS slot_node_id, done.*
FROM slot FULL JOIN done ON true
"""


# A node's long poll, woken up (the cold-start path): its start commands claimed, with what each
# container needs, the containers to stop and which of its calls are still its own, in one
# statement. No row when the node is unknown or its agent's epoch is over. Arrays are of `text`: one of
# `varchar` would cost each new connection a type lookup of milliseconds (see `_init_connection`).
NODE_WAKE = f"""
WITH node AS (
    SELECT id FROM nodes WHERE id = $1 AND workspace_id = $2 AND epoch = $3
), claimed AS (
    UPDATE containers c SET state = '{STARTING}', started_at = now()
    FROM node WHERE $5 AND c.node_id = node.id AND c.state = '{PENDING}'
    RETURNING c.id, c.function_id, c.gpu_model, c.gpu_count
)
SELECT
    ARRAY(SELECT id::text FROM containers WHERE node_id = $1 AND state = '{STOPPING}') AS stop,
    ARRAY(SELECT id::text FROM calls WHERE id = ANY($4::text[]) AND node_id = $1 AND status = '{RUNNING}') AS ours,
    claimed.id AS container_id, f.id AS function_id, a.name AS app, f.name AS function, f.version,
    d.bundle_digest, f.image_key, f.spec, claimed.gpu_model, claimed.gpu_count
FROM node
LEFT JOIN claimed ON true
LEFT JOIN functions f ON f.id = claimed.function_id
LEFT JOIN apps a ON a.id = f.app_id
LEFT JOIN deployments d ON d.id = f.deployment_id
"""


class NodeWake(NamedTuple):
    starts: list[dict[str, Any]]  # a ContainerSpec's fields each
    stop: list[str]
    ours: set[str]


class FunctionRef(NamedTuple):
    app_id: str
    app_name: str
    function_id: str
    name: str
    version: int
    spec: dict[str, Any]


RouteKey = tuple[str, str, str, int | None]  # workspace, app, function, pinned version


class ResolvedFunctions:
    """The functions submits resolved lately, by route: a deploy, a rollback or a stop makes an entry stale,
    which the insert that uses it finds (LIVE) and the submit then drops. Holds up to `size` routes; a
    full cache drops its oldest entry."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._refs: dict[RouteKey, FunctionRef] = {}

    def get(self, key: RouteKey) -> FunctionRef | None:
        return self._refs.get(key)

    def put(self, key: RouteKey, fn: FunctionRef) -> FunctionRef:
        if len(self._refs) >= self.size and key not in self._refs:
            del self._refs[next(iter(self._refs))]
        self._refs[key] = fn
        return fn

    def forget(self, key: RouteKey) -> None:
        self._refs.pop(key, None)

    def __len__(self) -> int:
        return len(self._refs)


class Claimed(NamedTuple):
    id: str
    lease_token: str
    attempt: int
    timeout_seconds: int
    input_type: str
    input: bytes


class Result(NamedTuple):
    """A success's result as stored: its bytes and how they are written (JSON, or opaque bytes)."""

    value: bytes
    type: str


class SlotState(NamedTuple):
    was: str
    state: str
    function_id: str
    node_id: str


async def _init_connection(connection: asyncpg.Connection) -> None:
    """JSONB in and out as Python values, as the ORM does.

    Statements here use only types asyncpg knows without asking: for any other (an array of `varchar`,
    say), the first statement using it on each connection looks the type up first, three round trips and
    a plan of milliseconds, on whatever call path that statement serves."""
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: msgspec.json.encode(value).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )


async def _no_reset(connection: asyncpg.Connection) -> None:
    """Statements here set no session state, so a released connection needs no reset round trip."""


def dsn_of(database_url: str) -> str:
    """asyncpg's DSN for SQLAlchemy's `postgresql+asyncpg://…` URL."""
    scheme, sep, rest = database_url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def _new_call(
    call_id: str | list[str],
    workspace_id: str,
    fn: FunctionRef,
    max_attempts: int,
    timeout_seconds: int,
    payload: bytes | list[str],
    input_type: str,
) -> tuple[Any, ...]:
    """INSERT's and INSERT_CLAIMED's parameters $1-$11, in their order; INSERT_BATCH's too, with the ids
    and the inputs (in base64) as arrays."""
    return (
        call_id,
        workspace_id,
        fn.app_id,
        fn.function_id,
        fn.app_name,
        fn.name,
        fn.version,
        max_attempts,
        timeout_seconds,
        payload,
        input_type,
    )


def as_call(row: Mapping[str, Any]) -> Call:
    """An ORM object for code that reads calls (answers, waits); never added to a session. Its values
    go straight into its `__dict__`, as the ORM loads rows, without the constructor's per-attribute
    events (a twentieth of the cost, twice per call)."""
    mapper = Call.__mapper__
    if not mapper.configured:
        configure_mappers()
    call: Call = mapper.class_manager.new_instance()
    call.__dict__.update(row)
    return call


class CallStore:
    """Opens its pool on first use (a process that never takes the call path holds no connections)."""

    def __init__(self, database_url: str, *, size: int, timeout: float) -> None:
        self.dsn = dsn_of(database_url)
        self.size = size
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self.functions = ResolvedFunctions()

    async def pool(self) -> asyncpg.Pool:
        """The pool, for the request path's other single statements (checking a bearer token)."""
        return await self._connected()

    async def _connected(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=0,
                        max_size=self.size,
                        init=_init_connection,
                        reset=_no_reset,
                        timeout=self.timeout,
                        command_timeout=30,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def resolve(self, workspace_id: str, app: str, function: str, version: int | None) -> FunctionRef | None:
        """The function the route names, from this process's cache when it has it (the inserts check that
        it still is); None when there is none."""
        key = (workspace_id, app, function, version)
        fn = self.functions.get(key)
        if fn is None:
            row = await (await self._connected()).fetchrow(RESOLVE, workspace_id, app, function, version)
            if row is None:
                return None
            fn = self.functions.put(key, FunctionRef(*row))
        return fn

    def forget(self, workspace_id: str, app: str, function: str, version: int | None) -> None:
        """Drops what `resolve` cached for this route: an insert found it is no longer what the route names."""
        self.functions.forget((workspace_id, app, function, version))

    async def insert(
        self,
        call_id: str,
        workspace_id: str,
        fn: FunctionRef,
        *,
        max_attempts: int,
        timeout_seconds: int,
        payload: bytes,
        input_type: str,
        pinned: bool,
    ) -> Call | None:
        """A new queued call; None when `fn` is no longer the function the route names (see LIVE): `pinned`
        when the caller named the version."""
        values = _new_call(call_id, workspace_id, fn, max_attempts, timeout_seconds, payload, input_type)
        row = await (await self._connected()).fetchrow(INSERT, *values, pinned)
        return as_call(row) if row is not None else None

    async def insert_claimed(
        self,
        call_id: str,
        workspace_id: str,
        fn: FunctionRef,
        *,
        max_attempts: int,
        timeout_seconds: int,
        payload: bytes,
        input_type: str,
        container_id: str,
        lease_token: str,
        lease_seconds: float,
        cold_start_ms: float | None,
        pinned: bool,
    ) -> Call | None:
        """A new call, claimed for the container's slot when the container still takes calls (then it is
        `running`), else queued; None, as `insert`, when `fn` is no longer what the route names."""
        values = _new_call(call_id, workspace_id, fn, max_attempts, timeout_seconds, payload, input_type)
        row = await (await self._connected()).fetchrow(
            INSERT_CLAIMED, *values, pinned, container_id, lease_token, lease_seconds, cold_start_ms
        )
        return as_call(row) if row is not None else None

    async def read(self, workspace_id: str, call_id: str) -> Call | None:
        row = await (await self._connected()).fetchrow(READ, call_id, workspace_id)
        return as_call(row) if row is not None else None

    async def ended(self, workspace_id: str, call_ids: list[str]) -> list[Call]:
        """Those of the calls that have ended, in no particular order."""
        rows = await (await self._connected()).fetch(ENDED, call_ids, workspace_id)
        return [as_call(row) for row in rows]

    async def count_active(self, workspace_id: str) -> int:
        count: int = await (await self._connected()).fetchval(COUNT_ACTIVE, workspace_id)
        return count

    async def claim_many(
        self,
        call_ids: list[str],
        slot: SlotState,
        container_id: str,
        *,
        lease_tokens: list[str],
        lease_seconds: float,
        cold_start_ms: float | None,
    ) -> list[Claimed]:
        """Those of the calls still queued, claimed for the slot, in the order given."""
        rows = await (await self._connected()).fetch(
            CLAIM_MANY,
            call_ids,
            lease_tokens,
            slot.function_id,
            container_id,
            lease_seconds,
            slot.node_id,
            cold_start_ms,
        )
        return [Claimed(*row) for row in rows]

    async def succeed_many(self, workspace_id: str, successes: list[tuple[str, str, Result]]) -> list[Call]:
        """(call id, lease token, result) each: the calls ended by these successes; stale ones are left out."""
        ids, leases, results = (list(column) for column in zip(*successes, strict=True))
        rows = await (await self._connected()).fetch(
            SUCCEED_MANY,
            ids,
            leases,
            [base64.b64encode(r.value).decode() for r in results],
            workspace_id,
            [r.type for r in results],
        )
        return [as_call(row) for row in rows]

    async def succeed_and_idle(
        self,
        workspace_id: str,
        container_id: str,
        cold_start_ms: float | None,
        *,
        call_id: str,
        lease_token: str,
        result: Result,
    ) -> tuple[Call | None, SlotState | None]:
        """`succeed` and `slot_idle` in one round trip: (the ended call or None, the slot or None)."""
        row = await (await self._connected()).fetchrow(
            SUCCEED_AND_IDLE, container_id, workspace_id, cold_start_ms, call_id, lease_token, result.value, result.type
        )
        if row is None:
            return None, None
        values = dict(row)
        slot_values = [values.pop(k) for k in ("was", "state", "slot_function_id", "slot_node_id")]
        slot = SlotState(*slot_values) if slot_values[0] is not None else None
        return (as_call(values) if values["id"] is not None else None), slot

    async def node_wake(
        self, workspace_id: str, node_id: str, epoch: int, running_calls: list[str], *, claim: bool
    ) -> NodeWake | None:
        """None when the workspace has no such node, or it re-registered since `epoch`."""
        rows = await (await self._connected()).fetch(NODE_WAKE, node_id, workspace_id, epoch, running_calls, claim)
        if not rows:
            return None
        starts = [dict(row) for row in rows if row["container_id"] is not None]
        for start in starts:
            del start["stop"], start["ours"]
        return NodeWake(starts, list(rows[0]["stop"]), set(rows[0]["ours"]))

    async def after_wait(self, container_id: str) -> tuple[str, bool]:
        """A slot's container once its wait ended with no input: (its state, whether the scheduler put it
        to sleep and no claim has woken it since)."""
        row = await (await self._connected()).fetchrow(AFTER_WAIT, container_id)
        return (row["state"], row["asleep"]) if row is not None else (ContainerState.EXITED.value, False)

    async def woke_for(self, workspace_id: str, call_id: str, container_id: str, cold_start_ms: float) -> None:
        """The call waited for its container's process to start: an asleep one woke for it."""
        await (await self._connected()).execute(WOKE_FOR, call_id, container_id, cold_start_ms, workspace_id)

    async def slot_idle(
        self, workspace_id: str, container_id: str, cold_start_ms: float | None, *, finished: bool
    ) -> SlotState | None:
        """None when the workspace has no such container, or it has exited. `finished`: the ask reports outcomes."""
        row = await (await self._connected()).fetchrow(SLOT_IDLE, container_id, workspace_id, cold_start_ms, finished)
        return SlotState(*row) if row is not None else None
