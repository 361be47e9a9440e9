"""What a workspace sees of its containers: where each runs, for which function, in what state."""

from __future__ import annotations

import asyncio

import httpx

from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke, start_container, succeeded
from tests.api.test_nodes import REGISTRATION
from tests.bundles import hello_bundle, make_bundle
from tests.conftest import Tenant


async def listed(client: httpx.AsyncClient, tenant: Tenant, **params: str) -> list[dict[str, object]]:
    response = await client.get("/v1/containers", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def placed_for_a_call(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, settings: str = ""
) -> tuple[str, str]:
    """(the call's id, the container's) once the agent has taken the container's start command: a call of
    greeter's `hello`, or with `settings`, of app `one`'s function `f` with those lines in its manifest."""
    if not settings:
        assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201
        call = (await invoke(client, tenant, args=["ada"])).json()
    else:
        bundle = make_bundle({"app.py": "def f():\n    return 1\n"}, f'[functions.f]\nhandler = "app:f"\n{settings}')
        assert (await deploy(client, tenant, "one", bundle)).status_code == 201
        call = (await invoke(client, tenant, fn="f", app="one")).json()
    return call["id"], (await start_container(agent, scheduler))["container_id"]


async def test_a_container_is_listed_from_its_placement_to_its_exit_with_its_function_and_node(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201
    call = (await invoke(client, tenant, args=["ada"])).json()
    spec = await start_container(agent, scheduler)
    container_id = spec["container_id"]
    [placed] = await listed(client, tenant)
    assert (
        placed["id"] == container_id and placed["state"] == "starting" and placed["ready_at"] is None
    )  # its agent took it
    assert (placed["app"], placed["function"], placed["version"]) == ("greeter", "hello", 1)
    assert placed["node_id"] == agent.node_id and placed["function_id"] == spec["function_id"]
    assert placed["node"] == REGISTRATION["name"]
    assert (placed["running_calls"], placed["asleep"], placed["gpu_model"], placed["gpu_count"]) == (0, False, None, 0)
    assert placed["gpus"] == []

    input_ = (await agent.next(container_id, cold_start_ms=12.5, wait_seconds=2))["input"]
    running = (await client.get(f"/v1/containers/{container_id}", headers=tenant.headers)).json()
    assert running["state"] == "ready" and running["running_calls"] == 1 and running["cold_start_ms"] == 12.5
    assert running["ready_at"] is not None and running["idle_since"] is None
    await agent.next(container_id, outcome=succeeded(input_, '"hello ada"'))
    assert (await client.get(f"/v1/calls/{call['id']}/result", headers=tenant.headers)).json()["status"] == "succeeded"
    [idle] = await listed(client, tenant, state="ready")
    assert idle["running_calls"] == 0 and idle["idle_since"] is not None

    await agent.poll(containers=[{"container_id": container_id, "state": "exited", "exit_reason": "out of memory"}])
    assert await listed(client, tenant) == []  # exited ones only when asked for
    [exited] = await listed(client, tenant, state="exited")
    assert exited["id"] == container_id and exited["exit_reason"] == "out of memory" and exited["exited_at"]
    shown = (await client.get(f"/v1/containers/{container_id}", headers=tenant.headers)).json()
    assert shown == exited


async def test_containers_are_filtered_by_app_function_and_node(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    _, container_id = await placed_for_a_call(client, tenant, agent, scheduler)
    for params in (
        {"app": "greeter"},
        {"function": "hello"},
        {"node": agent.node_id},
        {"node": str(REGISTRATION["name"])},  # or its name
        {"app": "greeter", "function": "hello"},
    ):
        assert [c["id"] for c in await listed(client, tenant, **params)] == [container_id], params
    for params in ({"app": "other"}, {"function": "boom"}, {"node": "node_" + "0" * 26}, {"state": "stopping"}):
        assert await listed(client, tenant, **params) == [], params


async def test_another_workspace_sees_none_of_them(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    _, container_id = await placed_for_a_call(client, tenant, agent, scheduler)
    assert await listed(client, other_tenant) == []
    assert await listed(client, other_tenant, state="pending") == []
    response = await client.get(f"/v1/containers/{container_id}", headers=other_tenant.headers)
    assert response.status_code == 404 and container_id in response.json()["detail"]


async def test_bad_queries_are_refused_with_what_is_wrong(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bad_state = await client.get("/v1/containers", params={"state": "sleeping"}, headers=tenant.headers)
    assert bad_state.status_code == 400 and "state" in bad_state.text
    too_many = await client.get("/v1/containers", params={"limit": 100_000}, headers=tenant.headers)
    assert too_many.status_code == 400 and "limit" in too_many.text
    long_app = await client.get("/v1/containers", params={"app": "a" * 65}, headers=tenant.headers)
    assert long_app.status_code == 400 and "app" in long_app.text
    for missing in ("ctr_" + "0" * 26, "not-an-id", "x" * 300):
        response = await client.get(f"/v1/containers/{missing}", headers=tenant.headers)
        assert response.status_code == 404 and "not found" in response.json()["detail"]
    assert (await client.get("/v1/containers")).status_code == 401


async def stop(client: httpx.AsyncClient, tenant: Tenant, container_id: str) -> httpx.Response:
    return await client.post(f"/v1/containers/{container_id}/stop", headers=tenant.headers)


async def test_a_stopped_container_finishes_its_call_takes_no_more_and_its_waiting_slot_hears_it_at_once(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    first, container_id = await placed_for_a_call(client, tenant, agent, scheduler)
    input_ = (await agent.next(container_id, cold_start_ms=5, wait_seconds=2))["input"]
    waiting = asyncio.create_task(agent.next(container_id, wait_seconds=20))  # a second slot, idle
    await asyncio.sleep(0.2)

    stopped = await stop(client, tenant, container_id)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "stopping" and stopped.json()["running_calls"] == 1
    assert stopped.json()["exit_reason"] == "stopped by request"  # why it is stopping
    assert (await asyncio.wait_for(waiting, 5))["stop"] is True  # not when its 20 s wait runs out
    ready = [{"container_id": container_id, "state": "ready"}]
    assert (await agent.poll(containers=ready, running_calls=[first]))["stop"] == [container_id]
    second = (await invoke(client, tenant, args=["bob"])).json()  # queued: not for the stopping container
    done = await agent.next(container_id, outcome=succeeded(input_, '"hello ada"'))
    assert done["outcome_accepted"] is True and (done["input"], done["stop"]) == (None, True)
    assert (await client.get(f"/v1/calls/{first}", headers=tenant.headers)).json()["status"] == "succeeded"

    await agent.poll(containers=[{"container_id": container_id, "state": "exited", "exit_reason": "exited cleanly"}])
    again = (await stop(client, tenant, container_id)).json()  # nothing changes
    assert (again["state"], again["exit_reason"]) == ("exited", "stopped by request; exited cleanly")
    replacement = await start_container(agent, scheduler)  # the queued call gets a container of its own
    assert replacement["container_id"] != container_id
    assert (await agent.next(replacement["container_id"], wait_seconds=2))["input"]["call_id"] == second["id"]


async def test_a_container_no_node_has_taken_ends_at_once_and_its_call_waits_for_another(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201
    call = (await invoke(client, tenant, args=["ada"])).json()
    await scheduler.step()
    [pending] = await listed(client, tenant, state="pending")
    stopped = (await stop(client, tenant, pending["id"])).json()
    assert (stopped["state"], stopped["exit_reason"]) == ("exited", "stopped by request")
    assert (await agent.poll())["start"] == []  # the node never hears of it
    replacement = await start_container(agent, scheduler)
    assert replacement["container_id"] != pending["id"]
    assert (await agent.next(replacement["container_id"], wait_seconds=2))["input"]["call_id"] == call["id"]


async def test_only_its_workspace_with_a_deploy_token_may_stop_a_container(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    _, container_id = await placed_for_a_call(client, tenant, agent, scheduler)
    refused = await stop(client, other_tenant, container_id)
    assert refused.status_code == 404 and container_id in refused.json()["detail"]
    created = await client.post("/v1/tokens", json={"name": "ro", "scopes": ["read"]}, headers=tenant.headers)
    reader = Tenant(workspace_id=tenant.workspace_id, name=tenant.name, token=created.json()["token"])
    forbidden = await stop(client, reader, container_id)
    assert forbidden.status_code == 403 and "deploy" in forbidden.json()["detail"]
    assert [c["state"] for c in await listed(client, tenant)] == ["starting"]
    assert (await stop(client, tenant, "ctr_" + "0" * 26)).status_code == 404


async def test_the_gpus_its_agent_gave_a_container_are_shown_once_reported(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    _, container_id = await placed_for_a_call(client, tenant, agent, scheduler, 'gpu = "H100"\n')
    [placed] = await listed(client, tenant)
    assert (placed["gpu_model"], placed["gpu_count"], placed["gpus"]) == ("H100", 1, [])  # reserved, not yet given
    load = [{"index": 0, "utilization_percent": 87, "memory_used_mib": 40960}]
    other = [{"index": 1, "utilization_percent": 3, "memory_used_mib": 512}]  # not its GPU
    report = {"container_id": container_id, "state": "starting", "gpus": [0]}
    await agent.poll(containers=[report], gpu_usage=load + other)
    shown = (await client.get(f"/v1/containers/{container_id}", headers=tenant.headers)).json()
    assert (shown["gpu_model"], shown["gpu_count"], shown["gpus"], shown["gpu_usage"]) == ("H100", 1, [0], load)
    await agent.poll(containers=[{"container_id": container_id, "state": "starting"}])  # said once is enough
    assert (await client.get(f"/v1/containers/{container_id}", headers=tenant.headers)).json()["gpus"] == [0]
    await agent.poll(containers=[{"container_id": container_id, "state": "exited"}])
    exited = (await client.get(f"/v1/containers/{container_id}", headers=tenant.headers)).json()
    assert (exited["gpus"], exited["gpu_usage"]) == ([0], [])  # what it held; the load is no longer its
    report = {"container_id": container_id, "state": "ready", "gpus": [65]}  # no node has that many
    body = {"epoch": agent.epoch, "containers": [report]}
    bad = await client.post(f"/v1/agent/nodes/{agent.node_id}/poll", json=body, headers=agent.headers)
    assert bad.status_code == 422 and "containers[0].gpus[0]" in bad.text, bad.text


async def test_the_listing_pages_through_every_container_once_newest_first(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201
    for name in ("ada", "bob", "cy"):
        await invoke(client, tenant, args=[name])
    await scheduler.step()  # a container for each queued call
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/containers", params=params, headers=tenant.headers)).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        if not (cursor := page["next_cursor"]):
            break
    assert pages == 2 and len(seen) == len(set(seen)) == 3 and seen == sorted(seen, reverse=True)


async def test_a_scaled_down_container_says_so_then_how_it_ended(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    brief = "scaledown_window = 2\nzygote = false\n"
    call, container_id = await placed_for_a_call(client, tenant, agent, scheduler, brief)
    input_ = (await agent.next(container_id, cold_start_ms=5, wait_seconds=2))["input"]
    await agent.next(container_id, outcome=succeeded(input_, "1"))
    assert (await client.get(f"/v1/calls/{call}", headers=tenant.headers)).json()["status"] == "succeeded"
    await asyncio.sleep(2.2)  # past its window
    await scheduler.step()
    shown = (await client.get(f"/v1/containers/{container_id}", headers=tenant.headers)).json()
    assert (shown["state"], shown["exit_reason"]) == ("stopping", "scaled down")
    await agent.poll(containers=[{"container_id": container_id, "state": "exited", "exit_reason": "exited cleanly"}])
    [exited] = await listed(client, tenant, state="exited")
    assert exited["exit_reason"] == "scaled down; exited cleanly"


async def test_a_nodes_view_counts_its_containers_and_the_gpus_they_hold(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    async def node() -> dict[str, object]:
        response = await client.get(f"/v1/nodes/{agent.node_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        shown: dict[str, object] = response.json()
        assert [n for n in (await client.get("/v1/nodes", headers=tenant.headers)).json()["items"]] == [shown]
        return shown

    assert (await node())["containers"] == 0 and (await node())["gpus_held"] == []
    _, container_id = await placed_for_a_call(client, tenant, agent, scheduler, 'gpu = "H100"\n')
    assert ((await node())["containers"], (await node())["gpus_held"]) == (1, [])  # reserved, not yet given
    await agent.poll(containers=[{"container_id": container_id, "state": "ready", "gpus": [0]}])
    assert ((await node())["containers"], (await node())["gpus_held"]) == (1, [0])
    heartbeat = await client.post(
        f"/v1/agent/nodes/{agent.node_id}/heartbeat", json={"epoch": agent.epoch}, headers=agent.headers
    )
    assert (heartbeat.json()["containers"], heartbeat.json()["gpus_held"]) == (None, None)  # the agent's answer
    await agent.poll(containers=[{"container_id": container_id, "state": "exited"}])
    assert ((await node())["containers"], (await node())["gpus_held"]) == (0, [])
