"""The request path's own statements (the call store's, and the token check's) against a real
Postgres: each one runs on a new pooled connection without asyncpg having to look a type up first
(the lookup costs milliseconds on the first use of a statement on each connection: on a cold
start, that is the call's time)."""

from __future__ import annotations

import asyncpg

from api.calls import store
from api.calls.store import _init_connection, dsn_of
from api.tokens import lookup

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
