"""T3's late report: an outcome reported out of band by an attempt that no longer holds its lease
(requeued and running elsewhere, cancelled, or already ended) is refused with a 409 that names the call
and why, and changes nothing the user sees; a batch in which some were recorded answers 200 with flags."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.api import AgentApi
from api.app import create_app
from api.calls.models import Call
from api.db import create_sessionmaker
from api.execution.outcomes import late_report
from api.execution.schemas import CallOutcome as ReportedOutcome
from api.execution.schemas import Outcome
from api.settings import Settings
from scheduler.loop import Scheduler
from skiff_client import AuthenticatedClient
from skiff_client.models import CallOutcome
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke, start_container, succeeded
from tests.bundles import hello_bundle
from tests.conftest import Tenant, serving


async def report(client: httpx.AsyncClient, agent: ScriptedAgent, *outcomes: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/agent/outcomes", json={"outcomes": list(outcomes)}, headers=agent.headers)


async def take_over(engine: AsyncEngine, scheduler: Scheduler, call_id: str) -> None:
    """The attempt's lease runs out: the scheduler puts the call back in the queue for another attempt."""
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Call).where(Call.id == call_id).values(lease_expires_at=Call.lease_expires_at - timedelta(hours=1))
        )
    await scheduler.step()


async def visible(client: httpx.AsyncClient, tenant: Tenant, call_id: str) -> tuple[str, int, Any]:
    call = (await client.get(f"/v1/calls/{call_id}", headers=tenant.headers)).json()
    return call["status"], call["attempt"], call["result"]


async def test_a_report_from_a_superseded_attempt_answers_409_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call_id = (await invoke(client, tenant)).json()["id"]
    spec = await start_container(agent, scheduler)
    first = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    await take_over(engine, scheduler, call_id)
    second = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    assert (second["call_id"], second["attempt"]) == (call_id, 2)

    late = await report(client, agent, succeeded(first, '"late"'))
    assert late.status_code == 409, late.text
    assert late.headers["content-type"].startswith("application/problem+json")
    problem = late.json()
    assert problem["status"] == 409 and problem["type"].endswith("/conflict")
    assert problem["detail"] == (
        f"late outcome report, nothing recorded: call {call_id}: the reporting attempt no longer holds its lease "
        "(attempt 2 runs now)"
    )
    assert await visible(client, tenant, call_id) == ("running", 2, None)

    await agent.next(spec["container_id"], outcome=succeeded(second, '"on time"'))
    again = await report(client, agent, {**succeeded(first, '"late"'), "outcome": "crashed", "result": None})
    assert again.status_code == 409, again.text
    assert f"call {call_id} already ended (succeeded)" in again.json()["detail"]
    assert await visible(client, tenant, call_id) == ("succeeded", 2, "on time")


async def test_a_report_for_a_cancelled_call_answers_409(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    call_id = (await invoke(client, tenant)).json()["id"]
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    assert (await client.delete(f"/v1/calls/{call_id}", headers=tenant.headers)).json()["status"] == "cancelled"
    late = await report(client, agent, {**succeeded(input_, "null"), "outcome": "timed_out", "result": None})
    assert late.status_code == 409 and f"call {call_id} already ended (cancelled)" in late.json()["detail"]
    assert await visible(client, tenant, call_id) == ("cancelled", 1, None)


async def test_a_batch_with_some_recorded_answers_200_with_a_flag_per_outcome(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, engine: AsyncEngine
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    ids = [(await invoke(client, tenant, args=[name])).json()["id"] for name in ("ada", "bob")]
    await scheduler.step()
    container_id = (await agent.poll())["start"][0]["container_id"]  # one slot takes both calls
    answer = await agent.next(container_id, wait_seconds=2, take=2)
    inputs = {i["call_id"]: i for i in [answer["input"], *answer["more"]]}
    assert set(inputs) == set(ids)
    stale, fresh = inputs[ids[0]], inputs[ids[1]]
    await take_over(engine, scheduler, stale["call_id"])

    mixed = await report(client, agent, succeeded(stale, '"late"'), succeeded(fresh, '"hi bob"'))
    assert mixed.status_code == 200, mixed.text
    assert mixed.json() == {"accepted": [False, True]}
    assert await visible(client, tenant, stale["call_id"]) == ("queued", 1, None)
    assert await visible(client, tenant, fresh["call_id"]) == ("succeeded", 1, "hi bob")

    late = await report(client, agent, succeeded(stale, '"late"'))
    assert late.status_code == 409, late.text
    assert late.json()["detail"] == (
        f"late outcome report, nothing recorded: call {stale['call_id']}: the reporting attempt no longer holds "
        "its lease (queued again after attempt 1)"
    )


async def test_the_agent_reads_a_409_as_none_recorded(
    settings: Settings,
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not an error to retry or to give up on: the agent's report returns a false per outcome."""
    await deploy(client, tenant, "greeter", hello_bundle())
    call_id = (await invoke(client, tenant)).json()["id"]
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    await agent.next(spec["container_id"], outcome=succeeded(input_, '"first"'))
    app = create_app(settings)
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    async with serving(app):
        node_client = AuthenticatedClient(
            base_url="http://skiff.test", token=token, httpx_args={"transport": httpx.ASGITransport(app=app)}
        )
        async with AgentApi(node_client) as api:
            late = CallOutcome.from_dict({**succeeded(input_, '"second"'), "logs": []})
            with caplog.at_level(logging.INFO, logger="skiff.agent"):
                assert await api.report_outcomes([late, late]) == [False, False]
    [refused] = [r for r in caplog.records if r.getMessage() == "late outcomes refused"]
    assert f"call {call_id} already ended (succeeded)" in refused.__dict__["detail"]
    assert await visible(client, tenant, call_id) == ("succeeded", 1, "first")


def test_a_large_late_batch_names_the_first_calls_and_counts_the_rest() -> None:
    outcomes = [ReportedOutcome(call_id=f"call_{i}", lease_token="lease_x", outcome=Outcome.CRASHED) for i in range(12)]
    states = {f"call_{i}": ("failed", 3) for i in range(1, 12)}
    assert late_report(outcomes, states) == (
        "late outcome report, nothing recorded: call 'call_0' not found; "
        + "; ".join(f"call call_{i} already ended (failed)" for i in range(1, 10))
        + "; and 2 more"
    )
