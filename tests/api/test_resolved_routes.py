"""A submit takes its function from its API process's cache of resolved routes; the call's insert checks
that the function is still what the route names. These tests change the app through a second API process
(its own cache, the same Postgres), so that only that check can tell the first process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.calls.store import FunctionRef, ResolvedFunctions
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke
from tests.api.test_handoff import slot_asking_again
from tests.bundles import hello_bundle
from tests.conftest import Tenant, serving


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as test_client:
        yield test_client


@pytest.fixture
async def other(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second API process of the same platform."""
    async with serving(create_app(settings)) as test_client:
        yield test_client


async def version_called(client: httpx.AsyncClient, tenant: Tenant, **params: int) -> int:
    answer = await client.post(
        "/v1/apps/greeter/functions/hello/calls", params=params, json={"args": ["ada"]}, headers=tenant.headers
    )
    assert answer.status_code == 202, answer.text
    version: int = answer.json()["version"]
    return version


async def test_a_route_resolved_earlier_follows_deploys_rollbacks_and_stops_made_through_another_process(
    app: Litestar, client: httpx.AsyncClient, other: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201
    assert await version_called(client, tenant) == 1
    assert await version_called(client, tenant, version=1) == 1
    assert len(app.state.store.functions) == 2  # the stable route and the pinned one

    assert (await deploy(other, tenant, "greeter", hello_bundle(extra="2"))).json()["version"] == 2
    assert await version_called(client, tenant) == 2
    assert await version_called(client, tenant, version=1) == 1  # a pinned version stays where it is

    rolled = await other.post("/v1/apps/greeter/rollback", json={"version": 1}, headers=tenant.headers)
    assert rolled.status_code == 200, rolled.text
    assert await version_called(client, tenant) == 1

    assert (await other.post("/v1/apps/greeter/stop", headers=tenant.headers)).status_code == 200
    for params in ({}, {"version": 1}):
        refused = await client.post(
            "/v1/apps/greeter/functions/hello/calls", params=params, json={}, headers=tenant.headers
        )
        assert refused.status_code == 404 and "is stopped" in refused.json()["detail"], refused.text


async def test_an_idle_slot_of_the_version_a_deploy_replaced_is_not_handed_the_call(
    app: Litestar,
    client: httpx.AsyncClient,
    other: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    engine: AsyncEngine,
) -> None:
    """The first process holds version 1's route and an idle slot of it; version 2 is deployed elsewhere.
    The call goes to version 2's queue; version 1's slot is neither handed it nor marked busy."""
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)
    assert (await deploy(other, tenant, "greeter", hello_bundle(extra="2"))).json()["version"] == 2

    call = (await invoke(client, tenant)).json()
    assert call["version"] == 2 and call["status"] == "queued" and call["container_id"] is None
    async with engine.connect() as connection:
        busy = await connection.scalar(text("SELECT busy FROM containers WHERE id = :id"), {"id": spec["container_id"]})
    assert busy == 0
    await asyncio.sleep(0.2)
    assert not asking.done()  # still waiting, on version 1's queue
    assert app.state.idle_slots._waiting.get(spec["function_id"])
    asking.cancel()


def test_the_cache_of_resolved_routes_drops_its_oldest_route_when_full() -> None:
    cache = ResolvedFunctions(size=2)
    refs = [FunctionRef(f"app{n}", "greeter", f"fn{n}", "hello", n, {}) for n in range(3)]
    for n, ref in enumerate(refs):
        cache.put(("ws", "greeter", "hello", n), ref)
    assert len(cache) == 2
    assert cache.get(("ws", "greeter", "hello", 0)) is None
    assert cache.get(("ws", "greeter", "hello", 2)) == refs[2]
    cache.forget(("ws", "greeter", "hello", 2))
    assert cache.get(("ws", "greeter", "hello", 2)) is None and len(cache) == 1
