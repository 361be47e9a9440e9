"""Short node polls (`full: false`): start and stop commands only, in one statement; the heartbeat,
the reports and lease renewals wait for the next full poll."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.containers.models import Container
from api.db import create_sessionmaker
from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke
from tests.bundles import hello_bundle
from tests.conftest import Tenant


async def heartbeat_of(client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent) -> str:
    node = (await client.get(f"/v1/nodes/{agent.node_id}", headers=tenant.headers)).json()
    return str(node["last_heartbeat_at"])


async def state_of(engine: AsyncEngine, container_id: str) -> str:
    async with create_sessionmaker(engine)() as session:
        state = await session.scalar(select(Container.state).where(Container.id == container_id))
        assert state is not None
        return state


async def test_a_short_poll_takes_start_commands_and_leaves_the_rest_to_a_full_one(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    await agent.poll()  # a full poll: the heartbeat
    beat = await heartbeat_of(client, tenant, agent)
    await invoke(client, tenant, args=["ada"])
    await scheduler.step()

    work = await agent.poll(full=False)
    assert len(work["start"]) == 1 and work["stop"] == [] and work["abandon"] == []
    container_id = work["start"][0]["container_id"]
    assert await state_of(engine, container_id) == "starting"
    assert await heartbeat_of(client, tenant, agent) == beat  # no heartbeat in a short poll

    exited = {"container_id": container_id, "state": "exited", "exit_reason": "exited with status 1"}
    await agent.poll(full=False, containers=[exited])
    assert await state_of(engine, container_id) == "starting"  # reports wait for a full poll
    await agent.poll(containers=[exited])
    assert await state_of(engine, container_id) == "exited"
    assert await heartbeat_of(client, tenant, agent) > beat


async def test_a_short_poll_of_an_ended_epoch_is_refused_like_a_full_one(
    client: httpx.AsyncClient, agent: ScriptedAgent
) -> None:
    response = await client.post(
        f"/v1/agent/nodes/{agent.node_id}/poll", json={"epoch": agent.epoch + 5, "full": False}, headers=agent.headers
    )
    assert response.status_code == 409
    assert "epoch" in response.json()["detail"]
