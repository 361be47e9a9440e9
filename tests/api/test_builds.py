"""Environments built at deploy time, through the real API and a scheduler stepped by hand: the
deploy's new environment becomes a request the scheduler places on a node, the node's poll hands
it out once, the node's reports move it on, and the builds endpoint shows each step."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.builds.models import EnvironmentBuild
from api.calls.dispatch import SCHEDULER_WAKE
from api.db import create_sessionmaker
from scheduler.loop import Scheduler
from scheduler.prebuild import MAX_DELIVERIES, START_WITHIN
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_nodes import REGISTRATION
from tests.bundles import make_bundle
from tests.conftest import Tenant

SOURCE = "def hello(name):\n    return name\n\ndef plain():\n    return 1\n"
MANIFEST = """
[functions.hello]
handler = "app:hello"
requirements = ["iniconfig==2.0.0"]

[functions.plain]
handler = "app:plain"
"""


async def builds(client: httpx.AsyncClient, tenant: Tenant, app: str = "built", version: int = 1) -> dict[str, Any]:
    response = await client.get(f"/v1/apps/{app}/deployments/{version}/builds", headers=tenant.headers)
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = response.json()
    return listed


async def progress(
    client: httpx.AsyncClient, agent: ScriptedAgent, build_id: str, state: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/agent/builds/{build_id}",
        json={"node_id": agent.node_id, "state": state, **body},
        headers=agent.headers,
    )


async def report_containers_build(client: httpx.AsyncClient, agent: ScriptedAgent, function: dict[str, Any]) -> None:
    """What an agent reports when a container's start built the function's environment (7 s)."""
    report = {
        "node_id": agent.node_id,
        "function_id": function["id"],
        "image_key": function["image_key"],
        "succeeded": True,
        "seconds": 7.0,
        "log": "built by a container's start\n",
    }
    assert (await client.post("/v1/agent/builds", json=report, headers=agent.headers)).status_code == 204


async def deployed(client: httpx.AsyncClient, tenant: Tenant, source: str = SOURCE) -> dict[str, Any]:
    response = await deploy(client, tenant, "built", make_bundle({"app.py": source}, MANIFEST))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_deploys_new_environment_is_handed_to_one_node_once_and_its_progress_listed(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, other_tenant: Tenant
) -> None:
    version = await deployed(client, tenant)
    hello = next(f for f in version["functions"] if f["name"] == "hello")
    assert await builds(client, tenant) == {"items": [], "planned": False}

    await scheduler.step()
    (pending,) = (await builds(client, tenant))["items"]  # `plain` has no requirements: nothing to build
    assert (pending["function"], pending["state"], pending["node_id"], pending["node"]) == (
        "hello",
        "pending",
        agent.node_id,
        REGISTRATION["name"],
    )
    assert pending["requested"] is True and pending["succeeded"] is False and pending["started_at"] is None

    work = await agent.poll()
    assert work["start"] == [] and [b["build_id"] for b in work["builds"]] == [pending["id"]]
    (command,) = work["builds"]
    assert command["function_id"] == hello["id"] and command["image_key"] == hello["image_key"]
    assert command["image"]["requirements"] == ["iniconfig==2.0.0"]
    assert command["bundle_digest"] == version["bundle_digest"]
    assert (await agent.poll())["builds"] == []  # handed out once
    await scheduler.step()
    assert (await agent.poll())["builds"] == []  # and never asked for again

    started = await progress(client, agent, pending["id"], "building")
    assert started.status_code == 200 and started.json() == {"accepted": True}
    (building,) = (await builds(client, tenant))["items"]
    assert building["state"] == "building" and building["started_at"] is not None

    log = "Collecting iniconfig==2.0.0\nSuccessfully installed iniconfig-2.0.0\n"
    ended = await progress(client, agent, pending["id"], "succeeded", seconds=3.5, log=log)
    assert ended.json() == {"accepted": True}
    listed = await builds(client, tenant)
    assert listed["planned"] is True
    (built,) = listed["items"]
    assert (built["state"], built["succeeded"], built["seconds"], built["log"]) == ("succeeded", True, 3.5, log)
    assert built["finished_at"] is not None

    late = await progress(client, agent, pending["id"], "failed", seconds=1, log="too late")
    assert late.json() == {"accepted": False}  # terminal states never change
    assert (await builds(client, tenant))["items"][0]["state"] == "succeeded"

    theirs = (await client.post("/v1/tokens", json={"name": "n", "kind": "node"}, headers=other_tenant.headers)).json()
    foreign = await client.post(
        f"/v1/agent/builds/{pending['id']}",
        json={"node_id": agent.node_id, "state": "building"},
        headers={"Authorization": f"Bearer {theirs['token']}"},
    )
    assert foreign.status_code == 404  # another workspace's build is invisible


async def test_a_deploy_wakes_the_leading_scheduler_to_plan_its_builds_before_its_next_tick(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await scheduler.step()  # leads; its full pass covers what earlier wake-ups asked for
    await scheduler.redis.delete(SCHEDULER_WAKE)
    await deployed(client, tenant)
    assert await scheduler.redis.lrange(SCHEDULER_WAKE, 0, -1) == [b"1"]  # what the scheduler's wait pops
    assert (await builds(client, tenant))["planned"] is False
    await scheduler.scale_woken()  # a wake-up's pass, not a tick
    listed = await builds(client, tenant)
    assert listed["planned"] is True
    assert [(b["function"], b["state"], b["node_id"]) for b in listed["items"]] == [("hello", "pending", agent.node_id)]


async def test_a_waiting_poll_answers_as_soon_as_a_build_is_placed(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await agent.poll()  # the node's first look: nothing yet
    await deployed(client, tenant)
    began = time.monotonic()
    waiting = asyncio.create_task(agent.poll(wait_seconds=10))
    await asyncio.sleep(0.3)
    await scheduler.step()
    work = await asyncio.wait_for(waiting, 10)
    assert len(work["builds"]) == 1 and time.monotonic() - began < 5, work


async def test_a_container_building_the_environment_first_ends_the_request(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    version = await deployed(client, tenant)
    hello = next(f for f in version["functions"] if f["name"] == "hello")
    await scheduler.step()
    (request,) = (await agent.poll())["builds"]
    await report_containers_build(client, agent, hello)
    (ended,) = (await builds(client, tenant))["items"]  # the same build, not a second one
    assert (ended["id"], ended["state"], ended["seconds"]) == (request["build_id"], "succeeded", 7.0)
    assert ended["requested"] is True
    assert (await progress(client, agent, request["build_id"], "building")).json() == {"accepted": False}


async def test_a_containers_report_after_the_request_ended_is_the_same_build(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    """The other order: the request, waiting on the node for the container's build, reports its end
    first; the container's report of that one build then completes the request's row, adding none."""
    version = await deployed(client, tenant)
    hello = next(f for f in version["functions"] if f["name"] == "hello")
    await scheduler.step()
    (request,) = (await agent.poll())["builds"]
    assert (await progress(client, agent, request["build_id"], "building")).json() == {"accepted": True}
    done = await progress(client, agent, request["build_id"], "succeeded", seconds=0.1, log="built already\n")
    assert done.json() == {"accepted": True}
    await report_containers_build(client, agent, hello)
    (ended,) = (await builds(client, tenant))["items"]
    assert (ended["id"], ended["state"], ended["seconds"]) == (request["build_id"], "succeeded", 7.0)
    assert ended["log"] == "built by a container's start\n"


async def test_no_build_is_asked_for_a_replaced_version_nor_an_environment_a_node_holds(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    first = await deployed(client, tenant)
    image_key = next(f["image_key"] for f in first["functions"] if f["name"] == "hello")
    await deployed(client, tenant, SOURCE + "\n# two\n")  # replaces version 1 before the scheduler looks
    await scheduler.step()
    assert await builds(client, tenant, version=1) == {"items": [], "planned": True}
    assert [b["state"] for b in (await builds(client, tenant, version=2))["items"]] == ["pending"]

    await agent.poll(cached_images=[image_key])  # the node built it
    await deployed(client, tenant, SOURCE + "\n# three\n")
    await scheduler.step()
    assert await builds(client, tenant, version=3) == {"items": [], "planned": True}


TRAINER = '[functions.train]\nhandler = "app:train"\ngpu = "A100-80GB"\nrequirements = ["iniconfig==2.0.0"]\n'


async def deploy_trainer(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """A function only a node with an A100 can run (the scripted agent's node has an H100)."""
    response = await deploy(client, tenant, "trainer", make_bundle({"app.py": "def train():\n    return 1\n"}, TRAINER))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def join_a100_node(client: httpx.AsyncClient, tenant: Tenant) -> ScriptedAgent:
    token = (await client.post("/v1/tokens", json={"name": "a100", "kind": "node"}, headers=tenant.headers)).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    gpus = [{"index": 0, "uuid": "G-a", "model": "A100-80GB", "memory_mib": 81920}]
    registration = {**REGISTRATION, "name": "a100-box", "gpus": gpus}
    config = (await client.post("/v1/agent/nodes", json=registration, headers=headers)).json()
    return ScriptedAgent(client, headers, config["node"]["id"], config["node"]["epoch"])


async def test_a_build_no_node_can_run_waits_for_one(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy_trainer(client, tenant)
    await scheduler.step()
    (waiting,) = (await builds(client, tenant, app="trainer"))["items"]
    assert (waiting["state"], waiting["node_id"], waiting["node"]) == ("pending", None, None)
    assert (await agent.poll())["builds"] == []  # the H100 node cannot run it

    a100 = await join_a100_node(client, tenant)
    await scheduler.step()
    (placed,) = (await builds(client, tenant, app="trainer"))["items"]
    assert (placed["id"], placed["state"], placed["node"]) == (waiting["id"], "pending", "a100-box")
    assert [b["build_id"] for b in (await a100.poll())["builds"]] == [waiting["id"]]


async def test_a_request_taken_by_an_agent_that_restarted_is_handed_out_again(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deployed(client, tenant)
    await scheduler.step()
    (first,) = (await agent.poll())["builds"]
    again = (await client.post("/v1/agent/nodes", json=REGISTRATION, headers=agent.headers)).json()  # a restart
    restarted = ScriptedAgent(client, agent.headers, again["node"]["id"], again["node"]["epoch"])
    assert (await restarted.poll())["builds"] == []  # not on its own: the scheduler repairs
    await scheduler.step()
    assert [b["build_id"] for b in (await restarted.poll())["builds"]] == [first["build_id"]]
    assert (await progress(client, restarted, first["build_id"], "building")).json() == {"accepted": True}


async def test_a_waiting_request_a_joining_node_holds_already_ends_built(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    version = await deploy_trainer(client, tenant)
    await scheduler.step()
    joined = await join_a100_node(client, tenant)
    await joined.poll(cached_images=[version["functions"][0]["image_key"]])  # it built it for another app
    await scheduler.step()
    (ended,) = (await builds(client, tenant, app="trainer"))["items"]
    assert (ended["state"], ended["node"], ended["seconds"]) == ("succeeded", "a100-box", 0)
    assert "already" in ended["log"]
    assert (await joined.poll())["builds"] == []


async def test_a_request_no_node_takes_up_fails_after_its_last_delivery(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    await deployed(client, tenant)
    await scheduler.step()
    for delivery in range(1, MAX_DELIVERIES + 1):
        (request,) = (await agent.poll())["builds"]  # handed out, then never started
        async with create_sessionmaker(engine)() as session, session.begin():
            await session.execute(
                update(EnvironmentBuild)
                .where(EnvironmentBuild.id == request["build_id"])
                .values(delivered_at=func.now() - START_WITHIN - timedelta(seconds=1))
            )
        await scheduler.step()
        (listed,) = (await builds(client, tenant))["items"]
        assert listed["state"] == ("pending" if delivery < MAX_DELIVERIES else "failed"), listed
    assert "handed to nodes 3 times (at most 3)" in listed["log"]
    assert (await agent.poll())["builds"] == []
