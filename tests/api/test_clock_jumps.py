"""T11: a step of the database's clock (an NTP correction, a resumed host) is not taken for lost
leases and silent nodes. The scheduler's memory of its last reading of both clocks is where a step
shows; the tests set that memory as it is after a step, against real Postgres."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke, start_container
from tests.bundles import hello_bundle
from tests.conftest import Tenant

STEP = timedelta(seconds=60)


async def running_call(client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler) -> str:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant)).json()
    spec = await start_container(agent, scheduler)
    assert (await agent.next(spec["container_id"], wait_seconds=2))["input"]["call_id"] == call["id"]
    call_id: str = call["id"]
    return call_id


async def age_by_the_step(engine: AsyncEngine, call_id: str, node_id: str) -> None:
    """What the database holds once its clock has stepped STEP forward: the lease renewed a second
    before the step has run out by its new clock, and the node's last heartbeat looks a minute old."""
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE calls SET lease_expires_at = lease_expires_at - CAST(:step AS interval) WHERE id = :id"),
            {"step": STEP, "id": call_id},
        )
        await connection.execute(
            text("UPDATE nodes SET last_heartbeat_at = last_heartbeat_at - CAST(:step AS interval) WHERE id = :id"),
            {"step": STEP, "id": node_id},
        )


async def state_of(engine: AsyncEngine, call_id: str, node_id: str) -> tuple[str, int, str]:
    async with engine.begin() as connection:
        status, attempt = (
            await connection.execute(text("SELECT status, attempt FROM calls WHERE id = :id"), {"id": call_id})
        ).one()
        node = (await connection.execute(text("SELECT state FROM nodes WHERE id = :id"), {"id": node_id})).scalar_one()
    return status, attempt, node


async def test_a_forward_step_of_the_database_clock_expires_no_lease_and_downs_no_node(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    call_id = await running_call(client, tenant, agent, scheduler)
    await scheduler.step()
    assert scheduler.last_reading is not None
    # The last tick's reading, as it reads after the step: the database's clock was STEP further back.
    scheduler.last_reading = dataclasses.replace(
        scheduler.last_reading, database=scheduler.last_reading.database - STEP
    )
    await age_by_the_step(engine, call_id, agent.node_id)

    await scheduler.step()
    assert await state_of(engine, call_id, agent.node_id) == ("running", 1, "ready")
    async with engine.begin() as connection:
        left = (
            await connection.execute(text("SELECT lease_expires_at - now() FROM calls WHERE id = :id"), {"id": call_id})
        ).scalar_one()
    assert left > timedelta(0)  # the lease keeps the time it had before the step


async def test_without_the_step_in_view_the_same_rows_read_as_a_lost_attempt_and_a_silent_node(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    """The control: what the step would have cost. A scheduler with no earlier reading (one that has
    just started) cannot tell a step from an outage."""
    call_id = await running_call(client, tenant, agent, scheduler)
    await age_by_the_step(engine, call_id, agent.node_id)
    scheduler.last_reading = None
    await scheduler.step()
    status, attempt, node = await state_of(engine, call_id, agent.node_id)
    assert node == "down" and status == "queued" and attempt == 1
