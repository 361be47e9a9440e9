"""Payloads that are not JSON: pickled arguments and results pass through the API as opaque bytes.

The API runs in this test's process: a pickle that runs code when it is loaded would leave its
marker file behind if anything here unpickled it.
"""

from __future__ import annotations

import base64
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import start_container
from tests.bundles import hello_bundle
from tests.conftest import Tenant, serving

JSON = "application/json"
PICKLE = "application/vnd.skiff.pickle"
CALLS = "/v1/apps/greeter/functions/hello/calls"


class RunsCodeWhenUnpickled:
    """Loading its pickle writes `marker`: proof that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('unpickled')",)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def invoke_pickled(client: httpx.AsyncClient, tenant: Tenant, body: bytes, **headers: str) -> httpx.Response:
    return await client.post(CALLS, content=body, headers={**tenant.headers, "Content-Type": PICKLE, **headers})


def pickled_success(input_: dict[str, Any], result: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "call_id": input_["call_id"],
        "lease_token": input_["lease_token"],
        "outcome": "succeeded",
        "result_b64": b64(result),
        "result_type": PICKLE,
        **extra,
    }


async def test_pickled_arguments_and_results_cross_the_api_as_opaque_bytes(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, tmp_path: Path
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    marker = tmp_path / "unpickled"
    arguments = pickle.dumps(((RunsCodeWhenUnpickled(marker),), {}))
    result = pickle.dumps(RunsCodeWhenUnpickled(marker))
    accepted = await invoke_pickled(client, tenant, arguments)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["result_type"] is None and accepted.json()["result_b64"] is None
    spec = await start_container(agent, scheduler)
    first = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    assert first["call_id"] == accepted.json()["id"] and first["input_type"] == PICKLE and first["payload"] == ""
    assert base64.b64decode(first["payload_b64"]) == arguments  # byte for byte
    calls = [first["call_id"], (await invoke_pickled(client, tenant, arguments)).json()["id"]]
    # With a log line, the outcome takes the recorder's way; without, the one-statement way.
    logged = pickled_success(first, result, logs=[{"stream": "stdout", "line": "hi"}])
    second = (await agent.next(spec["container_id"], outcome=logged, wait_seconds=2))["input"]
    assert base64.b64decode(second["payload_b64"]) == arguments
    await agent.next(spec["container_id"], outcome=pickled_success(second, result))

    for call_id in calls:
        for path in (f"/v1/calls/{call_id}", f"/v1/calls/{call_id}/result"):
            call = (await client.get(path, headers=tenant.headers)).json()
            assert call["status"] == "succeeded", call
            assert (call["result"], call["result_type"]) == (None, PICKLE)
            assert base64.b64decode(call["result_b64"]) == result
    ended = (await client.post("/v1/calls/wait", json={"ids": calls}, headers=tenant.headers)).json()["items"]
    assert {base64.b64decode(c["result_b64"]) for c in ended} == {result}
    listed = (await client.get("/v1/calls", params={"app": "greeter"}, headers=tenant.headers)).json()["items"]
    assert {c["result_type"] for c in listed} == {PICKLE}
    assert not marker.exists(), "the API unpickled a payload"


async def test_json_calls_say_their_result_is_json_and_carry_no_bytes(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    # A JSON body needs no content type, as before: curl -d sends it as a form.
    accepted = await client.post(
        CALLS,
        content=b'{"args": ["ada"]}',
        headers={**tenant.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert accepted.status_code == 202, accepted.text
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    assert (input_["input_type"], input_["payload"], input_["payload_b64"]) == (
        JSON,
        '{"args":["ada"],"kwargs":{}}',
        None,
    )
    outcome = {"call_id": input_["call_id"], "lease_token": input_["lease_token"], "outcome": "succeeded"}
    await agent.next(spec["container_id"], outcome={**outcome, "result": '{"greeting": "hello ada"}'})
    call = (await client.get(f"/v1/calls/{accepted.json()['id']}", headers=tenant.headers)).json()
    assert call["result"] == {"greeting": "hello ada"}
    assert (call["result_type"], call["result_b64"]) == (JSON, None)


async def test_pickled_arguments_are_held_to_the_input_limit_and_to_their_idempotency_key(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    over_the_body_limit = await invoke_pickled(client, tenant, b"\x80" * (settings.max_json_body_bytes + 1))
    assert over_the_body_limit.status_code == 413
    assert f"limit of {settings.max_json_body_bytes} bytes" in over_the_body_limit.json()["detail"]
    limited = Settings(**{**settings.model_dump(), "max_input_bytes": 4096})
    async with serving(create_app(limited)) as small:
        too_big = await invoke_pickled(small, tenant, b"\x80" * 5000)
        assert too_big.status_code == 413
        assert too_big.json()["detail"] == "call arguments are 5000 bytes; the limit is 4096 bytes"
    key = {"Idempotency-Key": "pickled-1"}
    first = (await invoke_pickled(client, tenant, pickle.dumps(((1, 2), {})), **key)).json()
    again = (await invoke_pickled(client, tenant, pickle.dumps(((1, 2), {})), **key)).json()
    assert first["id"] == again["id"]
    other = await invoke_pickled(client, tenant, pickle.dumps(((1, 3), {})), **key)
    assert other.status_code == 422


async def test_a_map_of_pickled_inputs_hands_each_one_on_as_it_came(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler, settings: Settings
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    inputs = [pickle.dumps(((n,), {"as": frozenset({n})})) for n in range(3)]
    url = "/v1/apps/greeter/functions/hello/map"
    batch = await client.post(url, json={"inputs_b64": [b64(i) for i in inputs]}, headers=tenant.headers)
    assert batch.status_code == 202, batch.text
    await scheduler.step()
    container_id = (await agent.poll())["start"][0]["container_id"]  # one container takes all three
    answer = await agent.next(container_id, wait_seconds=2, take=3)
    handed = [answer["input"], *answer["more"]]
    assert [i["call_id"] for i in handed] == batch.json()["calls"]
    assert [base64.b64decode(i["payload_b64"]) for i in handed] == inputs
    assert {i["input_type"] for i in handed} == {PICKLE}

    both = {"inputs": [{"args": [1]}], "inputs_b64": [b64(inputs[0])]}
    for body in (both, {}, {"inputs": []}):
        refused = await client.post(url, json=body, headers=tenant.headers)
        assert refused.status_code == 422, body
        assert "`inputs` (JSON) or in `inputs_b64` (pickled): one of the two" in refused.json()["detail"]
    too_big = b64(b"\x80" * (settings.max_input_bytes + 1))
    refused = await client.post(url, json={"inputs_b64": [b64(b"x"), too_big]}, headers=tenant.headers)
    assert refused.status_code == 413 and "input 1 is" in refused.json()["detail"]
    not_base64 = await client.post(url, json={"inputs_b64": ["not base64!"]}, headers=tenant.headers)
    assert not_base64.status_code == 422


@pytest.mark.parametrize(
    "result",
    [{"result_b64": b64(b"\x80\x05N.")}, {"result_type": PICKLE}, {"result_b64": "not base64!", "result_type": PICKLE}],
)
async def test_an_agent_reporting_opaque_bytes_says_what_they_are(
    client: httpx.AsyncClient,
    tenant: Tenant,
    agent: ScriptedAgent,
    scheduler: Scheduler,
    result: dict[str, str],
) -> None:
    await deploy(client, tenant, "greeter", hello_bundle())
    await invoke_pickled(client, tenant, pickle.dumps(((), {})))
    spec = await start_container(agent, scheduler)
    input_ = (await agent.next(spec["container_id"], wait_seconds=2))["input"]
    outcome = {"call_id": input_["call_id"], "lease_token": input_["lease_token"], "outcome": "succeeded", **result}
    refused = await client.post(
        f"/v1/agent/containers/{spec['container_id']}/next", json={"outcome": outcome}, headers=agent.headers
    )
    assert refused.status_code == 422, refused.text
