"""The call path through the real API, with the test speaking the agent protocol over HTTP and
stepping a real scheduler: queue → placement → claim → outcome → result."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.calls.models import Call
from api.db import create_sessionmaker
from api.nodes.models import Node
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_nodes import REGISTRATION
from tests.bundles import hello_bundle, make_bundle
from tests.conftest import Tenant, serving


async def invoke(
    client: httpx.AsyncClient,
    tenant: Tenant,
    fn: str = "hello",
    app: str = "greeter",
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    return await client.post(
        f"/v1/apps/{app}/functions/{fn}/calls", json=body, headers={**tenant.headers, **(headers or {})}
    )


async def start_container(agent: ScriptedAgent, scheduler: Scheduler) -> dict[str, Any]:
    await scheduler.step()
    work = await agent.poll()
    assert len(work["start"]) == 1, work
    spec: dict[str, Any] = work["start"][0]
    return spec


def succeeded(input_: dict[str, Any], result: str) -> dict[str, Any]:
    return {
        "call_id": input_["call_id"],
        "lease_token": input_["lease_token"],
        "outcome": "succeeded",
        "result": result,
        "logs": [{"stream": "stdout", "line": "saying hello"}],
    }


async def test_a_call_runs_on_a_started_container_and_returns_its_result(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201
    accepted = await invoke(client, tenant, args=["ada"])
    assert accepted.status_code == 202
    call = accepted.json()
    assert call["status"] == "queued" and accepted.headers["location"] == f"/v1/calls/{call['id']}"

    spec = await start_container(agent, scheduler)
    assert spec["function"] == "hello" and spec["spec"]["handler"] == "app:hello" and spec["bundle_digest"]
    first = await agent.next(spec["container_id"], cold_start_ms=12.5, wait_seconds=2)
    input_ = first["input"]
    assert input_["call_id"] == call["id"] and input_["attempt"] == 1
    assert input_["payload"] == '{"args":["ada"],"kwargs":{}}'
    running = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert running["status"] == "running" and running["node_id"] == agent.node_id

    done = await agent.next(spec["container_id"], outcome=succeeded(input_, '{"greeting": "hello ada"}'))
    assert done["outcome_accepted"] is True and done["input"] is None
    final = (await client.get(f"/v1/calls/{call['id']}/result", headers=tenant.headers)).json()
    assert final["status"] == "succeeded" and final["result"] == {"greeting": "hello ada"}
    assert final["cold_start"] is True and final["cold_start_ms"] == 12.5
    assert final["container_id"] == spec["container_id"]


async def test_outcomes_reported_together_are_each_recorded_with_their_bytes(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    """A slot that took several inputs reports them in one ask; an opaque result keeps its exact bytes."""
    await deploy(client, tenant, "greeter", hello_bundle())
    ids = [(await invoke(client, tenant, args=[name])).json()["id"] for name in ("ada", "bob", "cy")]
    await scheduler.step()
    spec = (await agent.poll())["start"][0]  # one container for each call is started: the first takes all three
    taken = await agent.next(spec["container_id"], wait_seconds=2, take=3)
    inputs = [taken["input"], *taken["more"]]
    assert sorted(i["call_id"] for i in inputs) == sorted(ids)
    opaque = bytes(range(256))  # every byte value, as a pickle may hold
    outcomes = [succeeded(inputs[0], '"one"'), succeeded(inputs[1], '"two"')]
    outcomes.append({**succeeded(inputs[2], ""), "result": None, "result_b64": base64.b64encode(opaque).decode()})
    outcomes[2]["result_type"] = "application/vnd.skiff.pickle"
    done = await agent.next(spec["container_id"], outcome=outcomes[0], outcomes=outcomes[1:])
    assert done["outcome_accepted"] is True
    results = [(await client.get(f"/v1/calls/{i['call_id']}", headers=tenant.headers)).json() for i in inputs]
    assert [r["status"] for r in results] == ["succeeded"] * 3
    assert [r["result"] for r in results[:2]] == ["one", "two"]
    assert base64.b64decode(results[2]["result_b64"]) == opaque


async def test_prefer_wait_answers_200_with_the_result(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    waiting = asyncio.create_task(invoke(client, tenant, headers={"Prefer": "wait=10"}, args=["bob"]))
    await asyncio.sleep(0.2)
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=5))["input"]
    await agent.next(spec["container_id"], outcome=succeeded(input_, '"hi bob"'))
    response = await asyncio.wait_for(waiting, 10)
    assert response.status_code == 200
    assert response.json()["result"] == "hi bob"
    assert response.headers["preference-applied"] == "wait=10"


async def test_user_errors_fail_the_call_with_the_error(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant, fn="boom")).json()
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    error = {"type": "ValueError", "message": "no such thing", "traceback": 'File "app.py", line 6, in boom'}
    await agent.next(
        spec["container_id"], outcome={**succeeded(input_, "null"), "outcome": "failed", "result": None, "error": error}
    )
    final = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert final["status"] == "failed" and final["error"] == error and final["result"] is None


async def test_a_late_outcome_after_cancel_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant)).json()
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    cancelled = await client.delete(f"/v1/calls/{call['id']}", headers=tenant.headers)
    assert cancelled.json()["status"] == "cancelled"
    work = await agent.poll(
        running_calls=[call["id"]], containers=[{"container_id": spec["container_id"], "state": "ready"}]
    )
    assert work["abandon"] == [call["id"]]  # the node is told to kill it
    late = await agent.next(spec["container_id"], outcome=succeeded(input_, "1"))
    assert late["outcome_accepted"] is False
    final = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert final["status"] == "cancelled" and final["result"] is None
    again = await client.delete(f"/v1/calls/{call['id']}", headers=tenant.headers)
    assert again.json()["status"] == "cancelled"


async def test_a_cancelled_queued_call_is_never_handed_out(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant)).json()
    await client.delete(f"/v1/calls/{call['id']}", headers=tenant.headers)
    await scheduler.step()
    assert (await agent.poll())["start"] == []  # nothing queued: no container is needed


async def test_an_expired_lease_is_retried_then_fails_after_the_last_attempt(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    manifest = "[functions.hello]\nhandler = 'app:hello'\nretries = 1\n"
    await deploy(client, tenant, "flaky", make_bundle({"app.py": "def hello(): return 1\n"}, manifest))
    call = (await invoke(client, tenant, app="flaky")).json()
    assert call["max_attempts"] == 4  # 1 + its retry + 2 that only lost attempts may use
    spec = await start_container(agent, scheduler)

    async def lose_the_lease() -> None:
        async with create_sessionmaker(engine)() as session, session.begin():
            await session.execute(
                update(Call)
                .where(Call.id == call["id"])
                .values(lease_expires_at=Call.lease_expires_at - timedelta(hours=1))
            )

    first = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    assert first["attempt"] == 1
    for attempt in (2, 3, 4):
        await lose_the_lease()
        await scheduler.step()  # back to the queue, published again
        again = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
        assert again["call_id"] == call["id"] and again["attempt"] == attempt
    stale = await agent.next(spec["container_id"], outcome=succeeded(first, "1"))
    assert stale["outcome_accepted"] is False  # attempt 1's lease is long gone
    await lose_the_lease()
    await scheduler.step()
    final = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert final["status"] == "failed" and final["error"]["type"] == "AttemptLost" and final["attempt"] == 4


async def test_idempotent_invoke_returns_the_same_call(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    key = {"Idempotency-Key": "order-42"}
    first = (await invoke(client, tenant, headers=key, args=[1])).json()
    second = (await invoke(client, tenant, headers=key, args=[1])).json()
    assert first["id"] == second["id"]
    other = await invoke(client, tenant, headers=key, args=[2])
    assert other.status_code == 422


async def test_invoke_errors_name_what_is_wrong(client: httpx.AsyncClient, tenant: Tenant, settings: Settings) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    missing_fn = await invoke(client, tenant, fn="nope")
    assert missing_fn.status_code == 404 and "functions: boom, hello" in missing_fn.json()["detail"]
    missing_app = await invoke(client, tenant, app="nope")
    assert missing_app.status_code == 404
    pinned = await client.post("/v1/apps/greeter/functions/hello/calls?version=7", json={}, headers=tenant.headers)
    assert pinned.status_code == 404 and "no version 7" in pinned.json()["detail"]
    too_big = await invoke(client, tenant, args=["x" * settings.max_input_bytes])
    assert too_big.status_code == 413
    wait_too_long = await invoke(client, tenant, headers={"Prefer": "wait=61"})
    assert wait_too_long.status_code == 400 and "60" in wait_too_long.json()["detail"]
    unknown = await invoke(client, tenant, argz=[1])
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "argz"


async def test_calls_are_listed_with_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    ids = [(await invoke(client, tenant, fn=fn)).json()["id"] for fn in ("hello", "boom", "hello")]
    everything = (await client.get("/v1/calls", headers=tenant.headers)).json()["items"]
    assert [c["id"] for c in everything] == ids[::-1]
    booms = (await client.get("/v1/calls", params={"function": "boom"}, headers=tenant.headers)).json()["items"]
    assert [c["id"] for c in booms] == [ids[1]]
    queued = (await client.get("/v1/calls", params={"status": "queued"}, headers=tenant.headers)).json()["items"]
    assert len(queued) == 3
    bad = await client.get("/v1/calls", params={"status": "nonsense"}, headers=tenant.headers)
    assert bad.status_code == 400


async def served_once(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> dict[str, Any]:
    """A container of `brief` (scaledown_window 2 s) that has run one call and is idle: its start command."""
    manifest = "[functions.hello]\nhandler = 'app:hello'\nscaledown_window = 2\n"
    await deploy(client, tenant, "brief", make_bundle({"app.py": "def hello(): return 1\n"}, manifest))
    await invoke(client, tenant, app="brief")
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    await agent.next(spec["container_id"], outcome=succeeded(input_, "1"))
    return spec


async def test_scale_to_zero_stops_idle_containers(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    spec = await served_once(client, tenant, agent, scheduler)
    await scheduler.step()
    assert (await agent.poll(containers=[{"container_id": spec["container_id"], "state": "ready"}]))["stop"] == []
    await asyncio.sleep(2.2)
    await scheduler.step()
    work = await agent.poll(containers=[{"container_id": spec["container_id"], "state": "ready"}])
    assert work["stop"] == [spec["container_id"]]
    answer = await agent.next(spec["container_id"])
    assert answer["stop"] is True


async def test_every_waiting_slot_of_a_stopped_container_hears_the_stop_at_once(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    spec = await served_once(client, tenant, agent, scheduler)
    await asyncio.sleep(2.2)
    slots = [asyncio.create_task(agent.next(spec["container_id"], wait_seconds=20)) for _ in range(3)]
    await asyncio.sleep(0.2)
    await scheduler.step()  # past its window, and no zygote reported warm: it stops
    answers = await asyncio.wait_for(asyncio.gather(*slots), 5)  # not when their 20 s waits run out
    assert [answer["stop"] for answer in answers] == [True, True, True]


async def test_the_last_container_sleeps_while_its_zygote_is_warm_and_its_next_call_needs_no_placement(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    spec = await served_once(client, tenant, agent, scheduler)
    container_id, ready = spec["container_id"], [{"container_id": spec["container_id"], "state": "ready"}]
    await agent.poll(containers=ready, warm_functions=[spec["function_id"]])  # its zygote is warm here
    await asyncio.sleep(2.2)

    waiting = asyncio.create_task(agent.next(container_id, wait_seconds=10))
    await asyncio.sleep(0.2)
    await scheduler.step()
    answer = await asyncio.wait_for(waiting, 5)  # told at once, not when its wait runs out
    assert (answer["input"], answer["stop"], answer["sleep"]) == (None, False, True)
    assert (await agent.poll(containers=ready))["stop"] == []

    # Asleep, its slot asks on; a call is its at once, with no new container placed.
    waiting = asyncio.create_task(agent.next(container_id, wait_seconds=10))
    call = (await invoke(client, tenant, app="brief")).json()
    woken = await asyncio.wait_for(waiting, 5)
    assert woken["input"]["call_id"] == call["id"] and woken["sleep"] is False
    await scheduler.step()
    assert (await agent.poll(containers=ready))["start"] == []
    await agent.next(container_id, outcome=succeeded(woken["input"], "1"))
    assert (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()["status"] == "succeeded"

    # Asleep again after its window; once its node no longer keeps the zygote, it goes.
    await asyncio.sleep(2.2)
    await scheduler.step()
    assert (await agent.next(container_id, wait_seconds=0))["sleep"] is True
    await agent.poll(containers=ready, warm_functions=[])
    await scheduler.step()
    assert (await agent.poll(containers=ready))["stop"] == [container_id]
    assert (await agent.next(container_id))["stop"] is True


async def put_to_sleep(
    agent: ScriptedAgent, scheduler: Scheduler, spec: dict[str, Any]
) -> tuple[str, list[dict[str, str]]]:
    """The node reports the function's zygote warm; past its window the idle container is put to sleep.
    Returns its id and its report as ready."""
    container_id, ready = spec["container_id"], [{"container_id": spec["container_id"], "state": "ready"}]
    await agent.poll(containers=ready, warm_functions=[spec["function_id"]])
    await asyncio.sleep(2.2)
    await scheduler.step()
    assert (await agent.next(container_id, wait_seconds=0))["sleep"] is True
    return container_id, ready


async def test_an_asleep_container_of_a_version_no_longer_current_stops(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    spec = await served_once(client, tenant, agent, scheduler)
    container_id, ready = await put_to_sleep(agent, scheduler, spec)
    manifest = "[functions.hello]\nhandler = 'app:hello'\nscaledown_window = 2\n"
    await deploy(client, tenant, "brief", make_bundle({"app.py": "def hello(): return 2\n"}, manifest))
    await scheduler.step()  # its zygote is still warm, but its version drains
    assert (await agent.poll(containers=ready))["stop"] == [container_id]


async def test_an_asleep_container_gives_its_room_to_another_function(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    manifest = "[functions.big]\nhandler = 'app:f'\ncpu = 12\nscaledown_window = 2\n"
    await deploy(client, tenant, "one", make_bundle({"app.py": "def f(): return 1\n"}, manifest))
    await deploy(client, tenant, "two", make_bundle({"app.py": "def f(): return 2\n"}, manifest))
    await invoke(client, tenant, fn="big", app="one")
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    await agent.next(spec["container_id"], outcome=succeeded(input_, "1"))
    container_id, ready = await put_to_sleep(agent, scheduler, spec)

    await invoke(client, tenant, fn="big", app="two")  # 12 of the node's 16 CPUs are the asleep one's
    await scheduler.step()
    work = await agent.poll(containers=ready)
    assert work["stop"] == [container_id] and [s["app"] for s in work["start"]] == ["two"]


async def test_an_idle_slot_asking_again_keeps_its_container_idle_since_its_last_input(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    """A warm slot asks again each time its wait runs out; those asks must not restart its idle time,
    or a container whose window is longer than the agent's wait would never scale down."""
    spec = await served_once(client, tenant, agent, scheduler)
    for _ in range(3):  # idle asks that find nothing, as the slot's waits run out
        await asyncio.sleep(0.5)
        assert (await agent.next(spec["container_id"], wait_seconds=0))["input"] is None
    await asyncio.sleep(0.7)
    await scheduler.step()
    work = await agent.poll(containers=[{"container_id": spec["container_id"], "state": "ready"}])
    assert work["stop"] == [spec["container_id"]]


async def test_a_container_with_an_input_running_in_one_slot_is_busy_while_another_slot_idles(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    """Each slot's ask speaks for itself alone: one slot idling must not make the container look idle
    (and stoppable) while another runs an input, nor start its idle time before that input ends."""
    manifest = "[functions.hello]\nhandler = 'app:hello'\nscaledown_window = 2\nmax_inputs = 2\n"
    await deploy(client, tenant, "pair", make_bundle({"app.py": "async def hello(): return 1\n"}, manifest))
    await invoke(client, tenant, app="pair")
    spec = await start_container(agent, scheduler)
    container_id = spec["container_id"]
    ready = [{"container_id": container_id, "state": "ready"}]
    running = (await agent.next(container_id, wait_seconds=2))["input"]  # slot B takes the call
    for _ in range(5):  # slot A idles through the window
        assert (await agent.next(container_id, wait_seconds=0))["input"] is None
        await asyncio.sleep(0.5)
    await scheduler.step()
    assert (await agent.poll(containers=ready, running_calls=[running["call_id"]]))["stop"] == []
    await agent.next(container_id, outcome=succeeded(running, "1"))  # B is done: idle from now
    await scheduler.step()
    assert (await agent.poll(containers=ready))["stop"] == []
    await asyncio.sleep(2.2)
    await scheduler.step()
    assert (await agent.poll(containers=ready))["stop"] == [container_id]


async def test_of_two_idle_looking_containers_the_one_running_a_call_in_another_slot_stays(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    manifest = "[functions.hello]\nhandler = 'app:hello'\nscaledown_window = 2\nmax_inputs = 2\n"
    await deploy(client, tenant, "pair", make_bundle({"app.py": "async def hello(): return 1\n"}, manifest))
    for _ in range(3):
        await invoke(client, tenant, app="pair")
    await scheduler.step()
    first, second = [start["container_id"] for start in (await agent.poll())["start"]]
    held = (await agent.next(first, wait_seconds=2))["input"]  # runs on in one slot of `first`
    done_first = (await agent.next(first, wait_seconds=2))["input"]
    done_second = (await agent.next(second, wait_seconds=2))["input"]
    await agent.next(first, outcome=succeeded(done_first, "1"))  # its other slot: idle from here
    await asyncio.sleep(0.3)
    await agent.next(second, outcome=succeeded(done_second, "1"))  # idle since later than `first`
    await asyncio.sleep(2.2)
    await scheduler.step()
    reports = [{"container_id": c, "state": "ready"} for c in (first, second)]
    assert (await agent.poll(containers=reports, running_calls=[held["call_id"]]))["stop"] == [second]


async def test_logs_are_paged_as_text_and_followed_over_sse(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant)).json()
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    shipped = await client.post(
        f"/v1/agent/calls/{call['id']}/logs",
        headers=agent.headers,
        json={
            "lease_token": input_["lease_token"],
            "lines": [{"stream": "stdout", "line": f"step {i}"} for i in range(3)],
        },
    )
    assert shipped.json() == {"accepted": True}
    page = (await client.get(f"/v1/calls/{call['id']}/logs", headers=tenant.headers)).json()
    assert [line["line"] for line in page["items"]] == ["step 0", "step 1", "step 2"]
    second_seq = page["items"][1]["seq"]

    async def follow(last_event_id: str) -> list[str]:
        events: list[str] = []
        headers = {**tenant.headers, "Accept": "text/event-stream", "Last-Event-ID": last_event_id}
        async with client.stream("GET", f"/v1/calls/{call['id']}/logs", headers=headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    events.append(line.removeprefix("data:").strip())
        return events

    follower = asyncio.create_task(follow(str(second_seq)))
    await asyncio.sleep(0.3)
    await agent.next(
        spec["container_id"],
        outcome={**succeeded(input_, '"done"'), "logs": [{"stream": "stderr", "line": "last words"}]},
    )
    events = await asyncio.wait_for(follower, 10)
    assert [json.loads(e).get("line") for e in events[:-1]] == ["step 2", "last words"]
    assert json.loads(events[-1]) == {"status": "succeeded"}
    text = await client.get(f"/v1/calls/{call['id']}/logs", headers={**tenant.headers, "Accept": "text/plain"})
    assert text.text == "step 0\nstep 1\nstep 2\nlast words\n"
    stale = await client.post(
        f"/v1/agent/calls/{call['id']}/logs",
        headers=agent.headers,
        json={"lease_token": input_["lease_token"], "lines": [{"stream": "stdout", "line": "too late"}]},
    )
    assert stale.json() == {"accepted": False}


async def test_environment_builds_are_attached_to_the_deployment(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, other_tenant: Tenant
) -> None:
    deployed = (await deploy(client, tenant, "greeter", hello_bundle())).json()
    fn = next(f for f in deployed["functions"] if f["name"] == "hello")
    report = {
        "node_id": agent.node_id,
        "function_id": fn["id"],
        "image_key": fn["image_key"],
        "succeeded": True,
        "seconds": 12.5,
        "log": "Successfully installed numpy-2.1.0\n",
    }
    assert (await client.post("/v1/agent/builds", json=report, headers=agent.headers)).status_code == 204
    builds = (await client.get("/v1/apps/greeter/deployments/1/builds", headers=tenant.headers)).json()["items"]
    assert [(b["function"], b["node_id"], b["succeeded"], b["seconds"]) for b in builds] == [
        ("hello", agent.node_id, True, 12.5)
    ]
    assert "numpy" in builds[0]["log"]
    theirs = await client.post("/v1/tokens", json={"name": "n", "kind": "node"}, headers=other_tenant.headers)
    foreign = await client.post(
        "/v1/agent/builds", json=report, headers={"Authorization": f"Bearer {theirs.json()['token']}"}
    )
    assert foreign.status_code == 404  # another workspace's node and function are invisible


async def test_a_full_backlog_answers_429_naming_the_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    manifest = "[functions.hello]\nhandler = 'app:hello'\nmax_pending = 2\n"
    await deploy(client, tenant, "narrow", make_bundle({"app.py": "def hello(): return 1\n"}, manifest))
    for _ in range(2):
        assert (await invoke(client, tenant, app="narrow")).status_code == 202
    refused = await invoke(client, tenant, app="narrow")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert "max_pending" in refused.json()["detail"] and "2" in refused.json()["detail"]
    assert len((await client.get("/v1/calls", params={"app": "narrow"}, headers=tenant.headers)).json()["items"]) == 2


async def test_calls_of_a_node_that_went_silent_are_queued_again_at_once(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant)).json()
    spec = await start_container(agent, scheduler)
    assert (await agent.next(spec["container_id"], wait_seconds=2))["input"]["call_id"] == call["id"]
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Node)
            .where(Node.id == agent.node_id)
            .values(last_heartbeat_at=Node.last_heartbeat_at - timedelta(hours=1))
        )
    await scheduler.step()  # node down → its running calls' leases end now → back to the queue
    again = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert again["status"] == "queued" and again["attempt"] == 1 and again["error"]["type"] == "AttemptLost"


async def test_a_workspace_at_its_active_call_limit_gets_429_and_others_do_not(
    settings: Settings, tenant: Tenant, other_tenant: Tenant
) -> None:
    limited = Settings(**{**settings.model_dump(), "workspace_max_active_calls": 3})
    async with serving(create_app(limited)) as client:
        for who in (tenant, other_tenant):
            await deploy(client, who, "greeter", hello_bundle())
        for _ in range(3):
            assert (await invoke(client, tenant)).status_code == 202
        refused = await invoke(client, tenant)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
        assert "SKIFF_WORKSPACE_MAX_ACTIVE_CALLS" in refused.json()["detail"] and "3" in refused.json()["detail"]
        assert (await invoke(client, other_tenant)).status_code == 202  # one flood does not stop the others


# ---- a node's long poll, woken while it waits ----
async def waiting_poll(agent: ScriptedAgent, **body: Any) -> asyncio.Task[httpx.Response]:
    poll = asyncio.create_task(
        agent.client.post(
            f"/v1/agent/nodes/{agent.node_id}/poll",
            json={"epoch": agent.epoch, "wait_seconds": 10, **body},
            headers=agent.headers,
        )
    )
    await asyncio.sleep(0.3)  # its first look found nothing; it waits
    assert not poll.done(), poll.result().text
    return poll


async def test_a_waiting_poll_is_woken_with_what_its_container_needs(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    deployed = (await deploy(client, tenant, "greeter", hello_bundle())).json()
    assert (await invoke(client, tenant, args=["ada"])).status_code == 202
    poll = await waiting_poll(agent)
    await scheduler.step()
    answer = await asyncio.wait_for(poll, 5)
    assert answer.status_code == 200, answer.text
    work = answer.json()
    (start,) = work["start"]
    (function,) = [f for f in deployed["functions"] if f["name"] == "hello"]
    assert (start["app"], start["function"], start["version"]) == ("greeter", "hello", 1)
    assert (start["function_id"], start["image_key"]) == (function["id"], function["image_key"])
    assert start["bundle_digest"] == deployed["bundle_digest"]
    assert start["spec"]["handler"] == "app:hello" and start["gpu_count"] == 0 and start["gpu_model"] is None
    assert (work["stop"], work["abandon"]) == ([], [])
    again = await agent.poll()  # claimed once: the next look does not start it again
    assert again["start"] == []


async def test_a_woken_poll_says_which_of_its_calls_are_no_longer_its_own(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant, args=["ada"])).json()
    spec = await start_container(agent, scheduler)
    assert (await agent.next(spec["container_id"], wait_seconds=2))["input"]["call_id"] == call["id"]
    poll = await waiting_poll(agent, running_calls=[call["id"]])
    assert (await client.delete(f"/v1/calls/{call['id']}", headers=tenant.headers)).status_code == 200  # wakes it
    work = (await asyncio.wait_for(poll, 5)).json()
    assert work["abandon"] == [call["id"]] and work["start"] == []


async def test_a_woken_poll_of_a_node_registered_again_meanwhile_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    poll = await waiting_poll(agent)
    again = await client.post("/v1/agent/nodes", json=REGISTRATION, headers=agent.headers)  # the agent restarted
    assert again.json()["node"]["epoch"] == agent.epoch + 1
    assert (await invoke(client, tenant, args=["ada"])).status_code == 202
    await scheduler.step()
    answer = await asyncio.wait_for(poll, 5)
    assert answer.status_code == 409 and "re-registered" in answer.json()["detail"], answer.text


async def test_an_agent_reports_a_result_bigger_than_other_json_bodies_may_be(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, settings: Settings
) -> None:
    """An outcome carries a result of up to max_result_bytes (4 MiB), past the 1 MiB of other bodies."""
    await deploy(client, tenant, "greeter", hello_bundle())
    call = (await invoke(client, tenant, args=["ada"])).json()
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    big = json.dumps("x" * (settings.max_result_bytes - 16))
    assert len(big) > settings.max_json_body_bytes
    done = await agent.next(spec["container_id"], outcome={**succeeded(input_, big), "logs": []})
    assert done["outcome_accepted"] is True
    ended = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
    assert ended["status"] == "succeeded" and len(ended["result"]) == settings.max_result_bytes - 16
    too_big = "x" * (settings.agent_max_body_bytes + 1)
    refused = await client.post(
        f"/v1/agent/containers/{spec['container_id']}/next", content=too_big, headers=agent.headers
    )
    assert refused.status_code == 413


async def test_stopping_an_app_cancels_its_calls_stops_its_containers_and_refuses_calls_until_a_rollback(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    running = (await invoke(client, tenant, args=["ada"])).json()
    spec = await start_container(agent, scheduler)
    assert (await agent.next(spec["container_id"], wait_seconds=2))["input"]["call_id"] == running["id"]
    queued = (await invoke(client, tenant, args=["grace"])).json()

    stopped = await client.post("/v1/apps/greeter/stop", headers=tenant.headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["current_version"] is None and stopped.json()["latest_version"] == 1
    for call in (running, queued):
        body = (await client.get(f"/v1/calls/{call['id']}", headers=tenant.headers)).json()
        assert body["status"] == "cancelled" and body["error"]["message"] == "cancelled: the app was stopped"
    work = await agent.poll(running_calls=[running["id"]])
    assert work["stop"] == [spec["container_id"]] and work["abandon"] == [running["id"]]

    refused = await invoke(client, tenant, args=["lin"])
    assert refused.status_code == 404 and "is stopped" in refused.json()["detail"]
    pinned = await client.post(
        "/v1/apps/greeter/functions/hello/calls", params={"version": 1}, json={}, headers=tenant.headers
    )
    assert pinned.status_code == 404  # a pinned version of a stopped app is refused too
    assert (await client.post("/v1/apps/greeter/stop", headers=tenant.headers)).status_code == 200  # again: no-op

    rolled = await client.post("/v1/apps/greeter/rollback", json={"version": 1}, headers=tenant.headers)
    assert rolled.status_code == 200
    assert (await invoke(client, tenant, args=["lin"])).status_code == 202
