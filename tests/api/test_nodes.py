"""Agents register their node with a node token and keep it alive with heartbeats."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant

REGISTRATION = {
    "name": "gpu-box-1",
    "hostname": "gpu-box-1.lan",
    "agent_version": "0.1.0",
    "cpus": 16,
    "memory_mib": 131072,
    "gpus": [{"index": 0, "uuid": "GPU-1234", "model": "H100", "memory_mib": 81559}],
    "labels": {"zone": "rack-a"},
}


@pytest.fixture
async def node_headers(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    created = await client.post("/v1/tokens", json={"name": "agent", "kind": "node"}, headers=tenant.headers)
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def test_register_heartbeat_and_list(
    client: httpx.AsyncClient, tenant: Tenant, node_headers: dict[str, str]
) -> None:
    registered = await client.post("/v1/agent/nodes", json=REGISTRATION, headers=node_headers)
    assert registered.status_code == 200, registered.text
    config = registered.json()
    node = config["node"]
    assert node["state"] == "ready" and node["epoch"] == 1 and node["gpus"][0]["model"] == "H100"
    assert config["heartbeat_interval_seconds"] > 0

    beat = await client.post(f"/v1/agent/nodes/{node['id']}/heartbeat", json={"epoch": 1}, headers=node_headers)
    assert beat.status_code == 200
    assert beat.json()["last_heartbeat_at"] >= node["last_heartbeat_at"]

    listed = (await client.get("/v1/nodes", headers=tenant.headers)).json()["items"]
    assert [n["id"] for n in listed] == [node["id"]]


async def test_reregistering_keeps_the_id_and_ends_the_old_epoch(
    client: httpx.AsyncClient, node_headers: dict[str, str]
) -> None:
    first = (await client.post("/v1/agent/nodes", json=REGISTRATION, headers=node_headers)).json()["node"]
    second = (await client.post("/v1/agent/nodes", json={**REGISTRATION, "cpus": 8}, headers=node_headers)).json()
    assert second["node"]["id"] == first["id"] and second["node"]["epoch"] == 2 and second["node"]["cpus"] == 8
    stale = await client.post(f"/v1/agent/nodes/{first['id']}/heartbeat", json={"epoch": 1}, headers=node_headers)
    assert stale.status_code == 409
    assert "epoch" in stale.json()["detail"]


async def test_user_tokens_cannot_act_as_agents(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/agent/nodes", json=REGISTRATION, headers=tenant.headers)
    assert response.status_code == 403
    assert "node token" in response.json()["detail"]


async def test_nodes_of_other_workspaces_are_invisible(
    client: httpx.AsyncClient, other_tenant: Tenant, node_headers: dict[str, str]
) -> None:
    node = (await client.post("/v1/agent/nodes", json=REGISTRATION, headers=node_headers)).json()["node"]
    assert (await client.get(f"/v1/nodes/{node['id']}", headers=other_tenant.headers)).status_code == 404
    assert (await client.get("/v1/nodes", headers=other_tenant.headers)).json()["items"] == []
    theirs = await client.post("/v1/tokens", json={"name": "a", "kind": "node"}, headers=other_tenant.headers)
    beat = await client.post(
        f"/v1/agent/nodes/{node['id']}/heartbeat",
        json={"epoch": 1},
        headers={"Authorization": f"Bearer {theirs.json()['token']}"},
    )
    assert beat.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cpus": 0}, "cpus"),
        ({"name": "../etc"}, "name"),
        ({"labels": {"Bad Key": "x"}}, "labels"),
        ({"gpus": [{"index": 0}]}, "gpus"),
    ],
)
async def test_bad_registrations_name_the_field(
    client: httpx.AsyncClient, node_headers: dict[str, str], change: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/agent/nodes", json={**REGISTRATION, **change}, headers=node_headers)
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()


async def test_gpu_usage_reported_in_polls_is_shown_on_the_node(
    client: httpx.AsyncClient, tenant: Tenant, node_headers: dict[str, str]
) -> None:
    node = (await client.post("/v1/agent/nodes", json=REGISTRATION, headers=node_headers)).json()["node"]
    assert node["gpu_usage"] == []
    usage = [{"index": 0, "utilization_percent": 87, "memory_used_mib": 40960}]
    poll = await client.post(
        f"/v1/agent/nodes/{node['id']}/poll", json={"epoch": 1, "gpu_usage": usage}, headers=node_headers
    )
    assert poll.status_code == 200
    assert (await client.get(f"/v1/nodes/{node['id']}", headers=tenant.headers)).json()["gpu_usage"] == usage
    await client.post(f"/v1/agent/nodes/{node['id']}/poll", json={"epoch": 1}, headers=node_headers)
    assert (await client.get(f"/v1/nodes/{node['id']}", headers=tenant.headers)).json()["gpu_usage"] == usage
