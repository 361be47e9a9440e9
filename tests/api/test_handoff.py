"""A call submitted while a slot of its function waits in the same API process goes straight to it.

The app is built here (not by the shared `client` fixture) so that the tests can see when a slot
has started waiting: `app.state.idle_slots`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.calls.dispatch import Dispatcher, container_wake_key, queue_key
from api.calls.handoff import IdleSlots
from api.calls.service import JSON
from api.dependencies import provide_calls
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke, start_container, succeeded
from tests.bundles import HELLO_SOURCE, hello_bundle, make_bundle
from tests.conftest import Tenant, serving


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as test_client:
        yield test_client


async def slot_waiting(app: Litestar, function_id: str) -> None:
    slots: IdleSlots = app.state.idle_slots
    for _ in range(500):
        if slots._waiting.get(function_id):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no slot of the function started waiting")


async def queued_ids(settings: Settings, function_id: str) -> list[bytes]:
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        ids: list[bytes] = await redis.lrange(queue_key(function_id), 0, -1)  # type: ignore[misc]
        return ids
    finally:
        await redis.aclose()


async def warm_slot(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A started container that has run one call: (its spec, that call's input, not yet reported)."""
    await invoke(client, tenant)
    spec = await start_container(agent, scheduler)
    first = await agent.next(spec["container_id"], cold_start_ms=5.0, wait_seconds=2)
    assert first["input"] is not None
    return spec, first["input"]


async def slot_asking_again(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> tuple[dict[str, Any], asyncio.Task[dict[str, Any]]]:
    """A warm slot that reported its first call's success and waits for its next input: (the container's
    spec, the slot's ask, answered when an input comes)."""
    spec, input_ = await warm_slot(client, tenant, agent, scheduler)
    asking = asyncio.create_task(agent.next(spec["container_id"], outcome=succeeded(input_, '"one"'), wait_seconds=10))
    await slot_waiting(app, spec["function_id"])
    return spec, asking


async def test_a_call_submitted_while_a_slot_waits_is_claimed_by_it_at_once(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    settings: Settings,
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)

    accepted = await invoke(client, tenant, args=["bo"])
    call = accepted.json()
    # Answered as running already: the submit claimed the slot in the statement that inserted the call.
    assert accepted.status_code == 202 and call["status"] == "running", call
    assert call["container_id"] == spec["container_id"] and call["node_id"] == agent.node_id
    assert call["attempt"] == 1 and call["cold_start"] is False
    answer = await asyncio.wait_for(asking, 5)
    handed = answer["input"]
    assert handed["call_id"] == call["id"] and handed["attempt"] == 1
    assert handed["payload"] == '{"args":["bo"],"kwargs":{}}'
    assert await queued_ids(settings, spec["function_id"]) == []  # it never went through the queue

    done = await agent.next(spec["container_id"], outcome=succeeded(handed, '"two"'))
    assert done["outcome_accepted"] is True
    final = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert final["status"] == "succeeded" and final["result"] == "two"
    running = await client.get("/v1/calls", params={"status": "running"}, headers=tenant.headers)
    assert running.json()["items"] == []


async def test_a_handed_call_is_a_cold_start_when_it_is_the_containers_first(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
) -> None:
    """A container kept warm with no call yet: its first input is handed over, marked as a cold start."""
    manifest = '[functions.hello]\nhandler = "app:hello"\nmin_containers = 1\n'
    await deploy(client, tenant, "greeter", make_bundle({"app.py": HELLO_SOURCE}, manifest))
    spec = await start_container(agent, scheduler)
    asking = asyncio.create_task(agent.next(spec["container_id"], cold_start_ms=12.5, wait_seconds=10))
    await slot_waiting(app, spec["function_id"])

    call = (await invoke(client, tenant)).json()
    assert call["status"] == "running" and call["cold_start"] is True and call["cold_start_ms"] == 12.5
    assert (await asyncio.wait_for(asking, 5))["input"]["call_id"] == call["id"]


async def test_a_slot_whose_container_stopped_taking_calls_is_not_handed_the_call(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    """The submit's statement finds the container stopping: the call is queued as usual, and the slot,
    given back, waits on and sees the queue."""
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)
    async with engine.begin() as connection:  # stopped behind the slot's back, with no wake-up
        await connection.execute(
            text("UPDATE containers SET state = 'stopping' WHERE id = :id"), {"id": spec["container_id"]}
        )

    call = (await invoke(client, tenant)).json()
    assert call["status"] == "queued" and call["container_id"] is None
    # The slot was given back and still waits: it pops the published call from the queue.
    answer = await asyncio.wait_for(asking, 5)
    assert answer["input"]["call_id"] == call["id"]
    assert await queued_ids(settings, spec["function_id"]) == []
    assert not app.state.idle_slots._waiting  # nothing left registered


async def test_a_slot_that_stops_waiting_is_no_longer_offered(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    settings: Settings,
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, input_ = await warm_slot(client, tenant, agent, scheduler)
    answer = await agent.next(spec["container_id"], outcome=succeeded(input_, '"one"'), wait_seconds=0.2)
    assert answer["input"] is None
    assert not app.state.idle_slots._waiting

    call = (await invoke(client, tenant)).json()
    assert call["status"] == "queued"
    assert await queued_ids(settings, spec["function_id"]) == [call["id"].encode()]


async def test_ids_put_back_keep_their_place_at_the_head_of_the_queue(settings: Settings) -> None:
    redis = aioredis.Redis.from_url(settings.redis_url)
    key = queue_key("fn-put-back")
    try:
        await redis.delete(key)
        await redis.rpush(key, "a", "b", "c", "d")  # type: ignore[misc]
        dispatcher = Dispatcher(redis)
        popped = await dispatcher.pop_many(key, 2)
        await dispatcher.put_back(key, popped)
        assert await redis.lrange(key, 0, -1) == [b"a", b"b", b"c", b"d"]  # type: ignore[misc]
    finally:
        await redis.delete(key)
        await redis.aclose()


async def test_a_slot_taken_while_its_pop_returned_keeps_the_handed_call_and_puts_the_popped_one_back(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    settings: Settings,
) -> None:
    """The race of the two ways in: a submit has reserved the slot (and is writing its call) when the
    slot's blocking pop returns another call from the queue. The slot takes the handed call and
    puts the popped one back at the head of the queue for the next slot."""
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)
    slots: IdleSlots = app.state.idle_slots
    reserved = slots.take(spec["function_id"])  # what a submit does before its statement
    assert reserved is not None

    popped = (await invoke(client, tenant)).json()  # no slot on offer: queued and published
    assert popped["status"] == "queued"
    for _ in range(500):  # the slot's blocking pop takes it, then waits for the reservation's outcome
        if not await queued_ids(settings, spec["function_id"]):
            break
        await asyncio.sleep(0.01)
    assert not asking.done()

    calls = provide_calls(app.state)
    fn = await app.state.store.resolve(tenant.workspace_id, "greeter", "hello", None)
    handed = await calls._insert_for(reserved, tenant.workspace_id, fn, b'{"args":[],"kwargs":{}}', JSON, False)
    assert handed is not None and handed.status == "running"
    answer = await asyncio.wait_for(asking, 5)
    assert answer["input"]["call_id"] == handed.id
    for _ in range(500):
        if await queued_ids(settings, spec["function_id"]):
            break
        await asyncio.sleep(0.01)
    assert await queued_ids(settings, spec["function_id"]) == [popped["id"].encode()]
    still = (await client.get(f"/v1/calls/{popped['id']}", headers=tenant.headers)).json()
    assert still["status"] == "queued" and still["attempt"] == 0


async def test_a_slot_handed_a_call_leaves_its_pop_waiting_for_its_next_ask(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    settings: Settings,
) -> None:
    """While the slot runs the handed call its pop stays parked in Redis: a call queued meanwhile is
    popped by it and put back at once, for any slot; the slot's next ask then takes it from the queue."""
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)
    handed = (await invoke(client, tenant)).json()
    assert handed["status"] == "running"
    answer = await asyncio.wait_for(asking, 5)
    assert answer["input"]["call_id"] == handed["id"]
    slots: IdleSlots = app.state.idle_slots
    assert [len(pops) for pops in slots._parked.values()] == [1]  # the pop waits on, parked

    queued = (await invoke(client, tenant)).json()  # the slot is busy: through the queue
    assert queued["status"] == "queued"
    for _ in range(500):  # popped by the parked pop, then put back
        if not slots._parked and await queued_ids(settings, spec["function_id"]):
            break
        await asyncio.sleep(0.01)
    assert await queued_ids(settings, spec["function_id"]) == [queued["id"].encode()]

    after = await agent.next(spec["container_id"], outcome=succeeded(answer["input"], '"two"'), wait_seconds=5)
    assert after["input"]["call_id"] == queued["id"] and after["input"]["attempt"] == 1


async def test_the_next_ask_takes_up_the_parked_pop(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)
    await invoke(client, tenant)
    answer = await asyncio.wait_for(asking, 5)
    slots: IdleSlots = app.state.idle_slots
    (parked,) = slots._parked[spec["container_id"]]

    asking = asyncio.create_task(
        agent.next(spec["container_id"], outcome=succeeded(answer["input"], '"two"'), wait_seconds=10)
    )
    await slot_waiting(app, spec["function_id"])
    # Taken up: no longer parked, and still waiting in Redis for this ask.
    assert not slots._parked and not parked.popping.done()
    third = (await invoke(client, tenant)).json()
    assert (await asyncio.wait_for(asking, 5))["input"]["call_id"] == third["id"]


async def test_a_wake_up_taken_by_a_parked_pop_reaches_the_containers_next_ask(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    settings: Settings,
) -> None:
    """A container being stopped is woken through its wake key. When the pop parked while the slot
    runs a handed call takes that wake-up, the wake-up is put back: an ask whose look at the
    container's state came before the stop then answers at once instead of waiting out its time."""
    await deploy(client, tenant, "greeter", hello_bundle())
    spec, asking = await slot_asking_again(app, client, tenant, agent, scheduler)
    await invoke(client, tenant)
    answer = await asyncio.wait_for(asking, 5)
    slots: IdleSlots = app.state.idle_slots
    (parked,) = slots._parked[spec["container_id"]]

    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        await Dispatcher(redis).wake(container_wake_key(spec["container_id"]))
        await asyncio.wait_for(parked.popping, 5)  # the parked pop took the wake-up
        for _ in range(500):
            if await redis.llen(container_wake_key(spec["container_id"])):  # type: ignore[misc]
                break
            await asyncio.sleep(0.01)
    finally:
        await redis.aclose()
    after = await asyncio.wait_for(
        agent.next(spec["container_id"], outcome=succeeded(answer["input"], '"two"'), wait_seconds=30), 10
    )
    assert after["input"] is None


class CountingFuture(asyncio.Future[Any]):
    """A future that counts the done callbacks put on it."""

    added = 0

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
        self.added += 1
        super().add_done_callback(fn, context=context)


async def test_a_pop_parked_after_every_call_carries_one_callback() -> None:
    """A warm slot parks its one pop again after each call: a callback per parking would pile up on
    the pop for as long as it waits, slowing every wait on it and all running when it ends."""
    slots = IdleSlots()
    popping = CountingFuture()
    unused_runs: list[int] = []

    def unused(i: int) -> Any:
        async def put_back() -> None:
            unused_runs.append(i)

        return put_back

    for i in range(1000):
        slots.park("ctr_a", 1, popping, unused(i))
        assert slots.unpark("ctr_a", 1) is popping
    slots.park("ctr_a", 1, popping, unused(1000))
    assert popping.added == 1

    popping.set_result(("queue", [b"call_x"]))  # ends while parked: only the last parking puts back
    for _ in range(3):
        await asyncio.sleep(0)
    assert unused_runs == [1000] and not slots._parked


async def test_a_pop_that_ends_while_taken_up_is_left_to_its_ask() -> None:
    slots = IdleSlots()
    popping: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    runs: list[str] = []

    async def put_back() -> None:
        runs.append("put back")

    slots.park("ctr_a", 1, popping, put_back)
    assert slots.unpark("ctr_a", 1) is popping
    popping.set_result(("queue", [b"call_x"]))
    for _ in range(3):
        await asyncio.sleep(0)
    assert runs == [] and not slots._parked
    assert slots.unpark("ctr_a", 1) is None
