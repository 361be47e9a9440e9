"""Many calls in one request (`POST …/map`) and waiting for any of many (`POST /v1/calls/wait`)."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.api.test_apps import deploy
from tests.bundles import hello_bundle, make_bundle
from tests.conftest import Tenant


async def start_map(
    client: httpx.AsyncClient, tenant: Tenant, inputs: list[dict[str, object]], app: str = "mapped", **headers: str
) -> httpx.Response:
    return await client.post(
        f"/v1/apps/{app}/functions/hello/map", json={"inputs": inputs}, headers={**tenant.headers, **headers}
    )


async def wait_for(
    client: httpx.AsyncClient, tenant: Tenant, ids: list[str], wait: float = 0
) -> list[dict[str, object]]:
    answer = await client.post("/v1/calls/wait", json={"ids": ids, "wait": wait}, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_a_map_makes_one_queued_call_per_input(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await deploy(client, tenant, "mapped", hello_bundle())
    answer = await start_map(client, tenant, [{"args": [f"n{i}"]} for i in range(5)])
    assert answer.status_code == 202, answer.text
    batch = answer.json()
    assert batch["id"].startswith("map_") and len(batch["calls"]) == 5 == len(set(batch["calls"]))
    listed = (await client.get("/v1/calls", params={"app": "mapped"}, headers=tenant.headers)).json()["items"]
    assert {c["id"] for c in listed} == set(batch["calls"])
    assert {c["status"] for c in listed} == {"queued"}
    first = (await client.get(f"/v1/calls/{batch['calls'][0]}", headers=tenant.headers)).json()
    assert first["function"] == "hello" and first["version"] == 1


async def test_waiting_for_many_answers_with_those_that_ended(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await deploy(client, tenant, "mapped", hello_bundle())
    ids = (await start_map(client, tenant, [{"args": ["a"]}, {"args": ["b"]}, {"args": ["c"]}])).json()["calls"]
    assert await wait_for(client, tenant, ids) == []
    waiting = asyncio.create_task(wait_for(client, tenant, ids, wait=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await client.delete(f"/v1/calls/{ids[1]}", headers=tenant.headers)
    async with asyncio.timeout(5):
        ended = await waiting  # the cancel's notice answers it, long before its 10 s
    assert [(c["id"], c["status"]) for c in ended] == [(ids[1], "cancelled")]
    # Ids of no call, malformed ones and other workspaces' calls are left out.
    assert await wait_for(client, tenant, ["call_doesnotexist", "nonsense", ids[1]]) == ended


async def test_a_retried_map_with_its_key_returns_the_same_batch(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await deploy(client, tenant, "mapped", hello_bundle())
    inputs = [{"args": [i]} for i in range(3)]
    first = await start_map(client, tenant, inputs, **{"Idempotency-Key": "batch-1"})
    again = await start_map(client, tenant, inputs, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    other = await start_map(client, tenant, inputs[:2], **{"Idempotency-Key": "batch-1"})
    assert other.status_code == 422, other.text
    listed = (await client.get("/v1/calls", params={"app": "mapped"}, headers=tenant.headers)).json()["items"]
    assert len(listed) == 3


async def test_a_map_past_a_limit_is_refused_whole_naming_the_limit(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    manifest = "[functions.hello]\nhandler = 'app:hello'\nmax_pending = 2\n"
    await deploy(client, tenant, "small", make_bundle({"app.py": "def hello(name='x'):\n    return name\n"}, manifest))
    refused = await start_map(client, tenant, [{"args": [i]} for i in range(3)], app="small")
    assert refused.status_code == 429, refused.text
    assert "max_pending" in refused.json()["detail"] and "would add 3" in refused.json()["detail"]
    too_many = await start_map(client, tenant, [{}] * 10_001, app="small")
    assert too_many.status_code == 422 and "10000" in too_many.text, too_many.text
    big = await start_map(client, tenant, [{"args": ["x" * (1 << 20)]}], app="small")
    assert big.status_code == 413 and "input 0" in big.json()["detail"], big.text
    empty = await start_map(client, tenant, [], app="small")
    assert empty.status_code == 422, empty.text
    listed = (await client.get("/v1/calls", params={"app": "small"}, headers=tenant.headers)).json()["items"]
    assert listed == []  # nothing of a refused map was kept
    elsewhere = await client.post(
        "/v1/apps/small/functions/hello/map", json={"inputs": [{}]}, headers=other_tenant.headers
    )
    assert elsewhere.status_code == 404


async def test_the_wait_body_has_limits(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body in ({"ids": []}, {"ids": ["call_x"], "wait": 61}, {"ids": ["call_x"] * 10_001}):
        answer = await client.post("/v1/calls/wait", content=json.dumps(body), headers=tenant.headers)
        assert answer.status_code == 422, answer.text
