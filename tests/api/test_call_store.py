"""The request path's own statements (the call store's, and the token check's) against a real
Postgres: each one runs on a new pooled connection without asyncpg having to look a type up first
(the lookup costs milliseconds on the first use of a statement on each connection: on a cold
start, that is the call's time)."""

from __future__ import annotations

import asyncpg
import httpx

from api.calls import store
from api.calls.store import _init_connection, dsn_of
from api.tokens import lookup
from tests.api.test_apps import deploy
from tests.api.test_map import start_map
from tests.bundles import hello_bundle
from tests.conftest import Tenant

STATEMENTS = {
    name: value
    for name, value in vars(store).items()
    if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("WITH", "SELECT", "INSERT", "UPDATE"))
} | {"TOKEN_LOOKUP": lookup.LOOKUP}


def test_every_statement_of_the_store_is_checked() -> None:
    expected = {"RESOLVE", "INSERT", "INSERT_CLAIMED", "CLAIM_MANY", "SUCCEED_AND_IDLE", "NODE_WAKE", "TOKEN_LOOKUP"}
    assert expected <= STATEMENTS.keys()


async def test_no_statement_makes_a_new_connection_look_up_a_type(database_url: str) -> None:
    connection = await asyncpg.connect(dsn_of(database_url))
    try:
        await _init_connection(connection)
        issued: list[str] = []
        connection.add_query_logger(lambda record: issued.append(record.query))
        for name, sql in STATEMENTS.items():
            issued.clear()
            await connection.prepare(sql)
            lookups = [q for q in issued if "typeinfo" in q]
            assert not lookups, f"{name} makes asyncpg look up a type on each new connection"
    finally:
        await connection.close()


async def test_statements_by_a_list_of_ids_find_each_call_by_its_key_among_thousands_queued(
    client: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    """A slot's claim and a batch of successes touch a few calls while a map holds thousands queued:
    each call is found through the primary key, not by reading every queued call of the function
    (or active call of the workspace) and joining. Checked on the generic plan, the one Postgres
    settles on for a prepared statement run many times."""
    await deploy(client, tenant, "mapped", hello_bundle())
    for _ in range(3):
        answer = await start_map(client, tenant, [{"args": [f"n{i}"]} for i in range(1000)])
        assert answer.status_code == 202, answer.text
    ids = answer.json()["calls"][:5]
    connection = await asyncpg.connect(dsn_of(database_url))
    try:
        await _init_connection(connection)
        function_id, workspace_id = await connection.fetchrow(
            "SELECT function_id, workspace_id FROM calls WHERE id = $1", ids[0]
        )
        await connection.execute("ANALYZE calls")  # statistics that know the queue: the plan must not depend on them
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        leases = ["lease_x"] * len(ids)
        claim = (ids, leases, function_id, "ctr_x", 30.0, "node_x", None)
        succeed = (ids, leases, ["MQ=="] * len(ids), workspace_id, ["application/json"] * len(ids))
        for name, sql, args in (("CLAIM_MANY", store.CLAIM_MANY, claim), ("SUCCEED_MANY", store.SUCCEED_MANY, succeed)):
            plan = "\n".join(row[0] for row in await connection.fetch("EXPLAIN " + sql, *args))
            assert "pk_calls" in plan and "ix_calls_" not in plan, f"{name} reads calls other than its own:\n{plan}"
    finally:
        await connection.close()
