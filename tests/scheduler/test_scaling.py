"""The scheduler's plan applied to real state: GPU reservations and making room by stopping idle
containers. (The pure cores have their own table tests.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from msgspec.structs import replace
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.apps.models import Function
from api.calls.dispatch import Dispatcher
from api.containers.models import Container
from api.db import create_sessionmaker
from api.settings import Settings
from scheduler.cluster import FunctionRow, LiveRow
from scheduler.loop import Scheduler
from scheduler.scaling import may_sleep
from tests.api.test_apps import deploy
from tests.api.test_nodes import REGISTRATION
from tests.bundles import make_bundle
from tests.conftest import Tenant, clear_leader_lease

GPU_MANIFEST = """
[functions.train]
handler = "app:f"
gpu = "H100"

[functions.embed]
handler = "app:f"
gpu = ["H100", "A100-80GB"]

[functions.cpu]
handler = "app:f"
"""


@pytest.fixture
async def scheduler(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Scheduler]:
    await clear_leader_lease(engine)
    redis = aioredis.Redis.from_url(settings.redis_url)
    yield Scheduler(settings, create_sessionmaker(engine), redis)
    await redis.aclose()


async def join(client: httpx.AsyncClient, tenant: Tenant, **registration: object) -> str:
    token = (await client.post("/v1/tokens", json={"name": "n", "kind": "node"}, headers=tenant.headers)).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    node = (await client.post("/v1/agent/nodes", json={**REGISTRATION, **registration}, headers=headers)).json()
    return str(node["node"]["id"])


async def containers(engine: AsyncEngine, tenant: Tenant) -> list[Container]:
    async with create_sessionmaker(engine)() as session:
        rows = await session.scalars(select(Container).where(Container.workspace_id == tenant.workspace_id))
        return list(rows.all())


async def call(client: httpx.AsyncClient, tenant: Tenant, fn: str) -> str:
    response = await client.post(f"/v1/apps/gpus/functions/{fn}/calls", json={}, headers=tenant.headers)
    assert response.status_code == 202
    return str(response.json()["id"])


async def test_a_gpu_is_never_reserved_twice(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    node = await join(
        client, tenant, name="one-h100", gpus=[{"index": 0, "uuid": "GPU-a", "model": "H100", "memory_mib": 81559}]
    )
    await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    for fn in ("train", "embed", "train"):
        await call(client, tenant, fn)
    await scheduler.step()
    placed = await containers(engine, tenant)
    assert [(c.node_id, c.gpu_model, c.gpu_count) for c in placed] == [(node, "H100", 1)]
    await call(client, tenant, "cpu")
    await scheduler.step()
    assert sorted((c.gpu_model or "-") for c in await containers(engine, tenant)) == ["-", "H100"]


async def test_the_gpu_returns_to_the_pool_when_its_container_exits(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="one-h100", gpus=[{"index": 0, "uuid": "GPU-a", "model": "H100", "memory_mib": 1}])
    await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    await call(client, tenant, "train")
    await call(client, tenant, "embed")
    await scheduler.step()
    (first,) = await containers(engine, tenant)
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(update(Container).where(Container.id == first.id).values(state="exited"))
    await scheduler.step()
    second = [c for c in await containers(engine, tenant) if c.id != first.id]
    assert [(c.gpu_model, c.gpu_count) for c in second] == [("H100", 1)]


async def test_a_wake_up_scales_just_the_functions_with_new_calls(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="cpu-node")
    await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    await scheduler.step()  # takes the lease; nothing to do yet
    follower = Scheduler(scheduler.settings, scheduler.sessionmaker, scheduler.redis)
    follower.holder = "someone-else"
    await call(client, tenant, "cpu")
    await follower.scale_woken()  # not the leader: leaves the wake-up for the leader
    assert await containers(engine, tenant) == []
    await scheduler.scale_woken()
    assert [c.function_id for c in await containers(engine, tenant)] != []
    await scheduler.scale_woken()  # nothing new since: no second container
    assert len(await containers(engine, tenant)) == 1


async def waiting(client: httpx.AsyncClient, tenant: Tenant, fn: str) -> object:
    response = await client.get(f"/v1/apps/gpus/functions/{fn}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["waiting"]


async def test_a_function_no_node_can_take_says_why_until_a_node_that_can_joins(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="cpu-only", gpus=[], memory_mib=16384)
    await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    train, cpu = await call(client, tenant, "train"), await call(client, tenant, "cpu")
    await scheduler.step()
    why = "no ready node has GPUs H100:1 (the most one has: no GPU): its calls wait until one joins"
    assert await waiting(client, tenant, "train") == why
    calls = {c: (await client.get(f"/v1/calls/{c}", headers=tenant.headers)).json() for c in (train, cpu)}
    assert [(calls[c]["status"], calls[c]["waiting"]) for c in (train, cpu)] == [("queued", why), ("queued", None)]
    result = await client.get(f"/v1/calls/{train}/result", params={"wait": 0}, headers=tenant.headers)
    assert (result.status_code, result.json()["waiting"]) == (202, why)
    listed = await client.get("/v1/apps/gpus/functions", headers=tenant.headers)
    assert {f["name"]: f["waiting"] for f in listed.json()["items"]} == {"train": why, "embed": None, "cpu": None}
    version = (await client.get("/v1/apps/gpus/deployments/1", headers=tenant.headers)).json()
    assert {f["name"]: f["waiting"] for f in version["functions"]}["train"] == why

    await join(client, tenant, name="one-h100", gpus=[{"index": 0, "uuid": "GPU-w", "model": "H100", "memory_mib": 1}])
    await scheduler.step()
    assert [c.gpu_model for c in await containers(engine, tenant) if c.gpu_model] == ["H100"]
    assert await waiting(client, tenant, "train") is None  # placed: it waits no longer
    assert (await client.get(f"/v1/calls/{train}", headers=tenant.headers)).json()["waiting"] is None


async def test_a_function_at_its_max_containers_says_its_calls_wait_their_turn(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="big", cpus=64)
    manifest = '[functions.two]\nhandler = "app:f"\nmax_containers = 2\n'
    await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, manifest))
    await call(client, tenant, "two")
    await scheduler.step()
    assert len(await containers(engine, tenant)) == 1 and await waiting(client, tenant, "two") is None
    calls = [await call(client, tenant, "two") for _ in range(2)]  # three in all, for two containers
    await scheduler.step()  # it places the second container, and the third call still waits
    why = "it has at most 2 containers (max_containers): its calls wait their turn"
    assert len(await containers(engine, tenant)) == 2 and await waiting(client, tenant, "two") == why
    assert [(await client.get(f"/v1/calls/{c}", headers=tenant.headers)).json()["waiting"] for c in calls] == [why] * 2


class LookingDispatcher(Dispatcher):
    """The real dispatcher; each wake first looks, as a woken node would, at what Postgres shows."""

    def __init__(self, redis: aioredis.Redis, engine: AsyncEngine, tenant: Tenant) -> None:
        super().__init__(redis)
        self.engine, self.tenant = engine, tenant
        self.seen_at_wake: list[int] = []

    async def wake(self, *keys: str) -> None:
        self.seen_at_wake.append(len(await containers(self.engine, self.tenant)))
        await super().wake(*keys)


async def test_a_node_is_woken_only_once_its_start_commands_are_committed(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="cpu-node")
    await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    await scheduler.step()
    scheduler.dispatcher = looking = LookingDispatcher(scheduler.redis, engine, tenant)
    await call(client, tenant, "cpu")
    await scheduler.scale_woken()
    assert looking.seen_at_wake == [1]  # the woken node's poll finds its container


async def test_placement_prefers_the_node_with_a_warm_zygote(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    cold = await join(client, tenant, name="cold", cpus=64)  # emptier: packing alone would not pick it
    warm_token = (await client.post("/v1/tokens", json={"name": "w", "kind": "node"}, headers=tenant.headers)).json()
    headers = {"Authorization": f"Bearer {warm_token['token']}"}
    warm = (
        await client.post("/v1/agent/nodes", json={**REGISTRATION, "name": "warm", "cpus": 128}, headers=headers)
    ).json()["node"]
    deployed = (
        await deploy(client, tenant, "gpus", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    ).json()
    cpu_fn = next(f["id"] for f in deployed["functions"] if f["name"] == "cpu")
    poll = await client.post(
        f"/v1/agent/nodes/{warm['id']}/poll", json={"epoch": 1, "warm_functions": [cpu_fn]}, headers=headers
    )
    assert poll.status_code == 200
    assert (await client.get(f"/v1/nodes/{warm['id']}", headers=tenant.headers)).json()["warm_functions"] == [cpu_fn]
    await call(client, tenant, "cpu")
    await scheduler.step()
    assert [c.node_id for c in await containers(engine, tenant)] == [warm["id"]]
    assert cold != warm["id"]


WARM_MANIFEST = """
[functions.warm]
handler = "app:f"
min_containers = 1
scaledown_window = 2
"""


async def live_of(engine: AsyncEngine, tenant: Tenant) -> list[tuple[int, str]]:
    """(version, state) of the tenant's containers that have not exited."""
    async with create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(Function.version, Container.state)
            .join(Function, Function.id == Container.function_id)
            .where(Container.workspace_id == tenant.workspace_id, Container.state != "exited")
            .order_by(Function.version)
        )
        return [(version, state) for version, state in rows.all()]


async def test_min_containers_start_without_calls_and_an_old_version_drains(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="warm-node")
    await deploy(client, tenant, "warm", make_bundle({"app.py": "def f(): return 1\n"}, WARM_MANIFEST))
    await scheduler.step()
    assert await live_of(engine, tenant) == [(1, "pending")]  # no call needed
    await scheduler.step()
    assert await live_of(engine, tenant) == [(1, "pending")]  # and only one

    async with create_sessionmaker(engine)() as session, session.begin():  # as if the agent had it running
        await session.execute(
            update(Container)
            .where(Container.workspace_id == tenant.workspace_id)
            .values(state="ready", idle_since=func.now() - timedelta(seconds=10))
        )
    await deploy(client, tenant, "warm", make_bundle({"app.py": "def f(): return 2\n"}, WARM_MANIFEST))
    await scheduler.step()
    # Version 2 gets its warm container; version 1, no longer current, idles out past its window.
    assert await live_of(engine, tenant) == [(1, "stopping"), (2, "pending")]
    # Leaves nothing standing for the schedulers of later tests.
    await client.patch("/v1/apps/warm/functions/warm", json={"min_containers": 0}, headers=tenant.headers)


async def test_a_runtime_override_scales_the_current_version(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine, scheduler: Scheduler
) -> None:
    await join(client, tenant, name="override-node")
    await deploy(client, tenant, "override", make_bundle({"app.py": "def f(): return 1\n"}, GPU_MANIFEST))
    await scheduler.step()
    assert await live_of(engine, tenant) == []
    patched = await client.patch(
        "/v1/apps/override/functions/cpu", json={"buffer_containers": 2}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    await scheduler.step()
    assert await live_of(engine, tenant) == [(1, "pending"), (1, "pending")]
    await client.patch("/v1/apps/override/functions/cpu", json={"buffer_containers": None}, headers=tenant.headers)


def test_only_a_current_cpu_container_with_its_zygote_warm_on_its_node_may_sleep() -> None:
    def fn(**spec: object) -> FunctionRow:
        return FunctionRow("fn", "ws", "app", "f", 1, "img", dict(spec), current=True)

    cpu = LiveRow("c", "fn", "node", "ready", 0, None, None, 0, asleep=False)
    gpu = replace(cpu, gpu_model="H100", gpu_count=1)
    assert may_sleep(fn(), cpu, {"fn"})
    assert not may_sleep(fn(), cpu, set())  # no warm zygote on its node
    assert not may_sleep(fn(), gpu, {"fn"})  # it would keep its GPU from others
    assert not may_sleep(fn(zygote=False), cpu, {"fn"})  # every container starts fresh anyway
    assert may_sleep(fn(max_inputs=4), cpu, {"fn"})
    assert not may_sleep(replace(fn(), current=False), cpu, {"fn"})  # an old version drains
