"""Secrets: values go in and never come out of the API, are sealed with AES-GCM bound to their
workspace and name, survive key rotation, and reach only the containers that declare them."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.db import create_sessionmaker
from api.secrets.crypto import Keyring, Sealed, Undecryptable
from api.secrets.models import Secret
from api.secrets.service import MAX_KEY_CHARS, MAX_KEYS, MAX_VALUE_BYTES, open_secrets
from api.settings import Settings
from scheduler.loop import Scheduler
from tests.api.conftest import ScriptedAgent
from tests.api.test_apps import deploy
from tests.api.test_calls import invoke, start_container
from tests.bundles import HELLO_SOURCE, make_bundle
from tests.conftest import TEST_SECRET_KEYS, Tenant, serving

KEY_B = "kb:" + base64.b64encode(bytes(range(32))).decode()
SECRET_MANIFEST = """
[functions.hello]
handler = "app:hello"
secrets = ["db", "api"]

[functions.boom]
handler = "app:boom"
"""


async def put(client: httpx.AsyncClient, tenant: Tenant, name: str, values: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/secrets", json={"name": name, "values": values}, headers=tenant.headers)


async def stored(engine: AsyncEngine, workspace_id: str, name: str) -> Secret:
    async with create_sessionmaker(engine)() as session:
        row = await session.scalar(select(Secret).where(Secret.workspace_id == workspace_id, Secret.name == name))
        assert row is not None
        return row


async def test_values_are_never_returned(client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine) -> None:
    created = await put(client, tenant, "db", {"PGPASSWORD": "hunter2-value", "PGUSER": "app"})
    assert created.status_code == 200, created.text
    assert created.json()["name"] == "db" and created.json()["keys"] == ["PGPASSWORD", "PGUSER"]
    listed = await client.get("/v1/secrets", headers=tenant.headers)
    deleted = await client.delete("/v1/secrets/db", headers=tenant.headers)
    for answer in (created, listed, deleted):
        assert answer.status_code == 200
        assert "hunter2-value" not in answer.text and '"app"' not in answer.text
    assert [item["keys"] for item in listed.json()["items"]] == [["PGPASSWORD", "PGUSER"]]
    assert (await client.get("/v1/secrets", headers=tenant.headers)).json()["items"] == []
    assert (await client.delete("/v1/secrets/db", headers=tenant.headers)).status_code == 404


async def test_values_are_encrypted_at_rest(client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine) -> None:
    await put(client, tenant, "db", {"PGPASSWORD": "hunter2-value"})
    row = await stored(engine, tenant.workspace_id, "db")
    assert b"hunter2" not in row.ciphertext and row.key_id == "test1" and len(row.nonce) == 12


async def test_a_replace_keeps_one_row_with_the_new_values(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = (await put(client, tenant, "db", {"A": "1"})).json()
    second = (await put(client, tenant, "db", {"B": "2"})).json()
    assert second["id"] == first["id"] and second["keys"] == ["B"] and second["updated_at"] >= first["updated_at"]
    items = (await client.get("/v1/secrets", headers=tenant.headers)).json()["items"]
    assert [(i["name"], i["keys"]) for i in items] == [("db", ["B"])]


async def test_workspaces_do_not_see_each_others_secrets(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await put(client, tenant, "db", {"A": "1"})
    assert (await client.get("/v1/secrets", headers=other_tenant.headers)).json()["items"] == []
    assert (await client.delete("/v1/secrets/db", headers=other_tenant.headers)).status_code == 404


async def test_a_ciphertext_moved_to_another_row_does_not_decrypt(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, engine: AsyncEngine, settings: Settings
) -> None:
    await put(client, tenant, "db", {"PGPASSWORD": "mine"})
    await put(client, other_tenant, "db", {"PGPASSWORD": "theirs"})
    await put(client, tenant, "other", {"PGPASSWORD": "also-mine"})
    source = await stored(engine, tenant.workspace_id, "db")
    keyring = Keyring.from_setting(settings.secret_keys)
    async with create_sessionmaker(engine)() as session, session.begin():
        for workspace_id, name in ((other_tenant.workspace_id, "db"), (tenant.workspace_id, "other")):
            await session.execute(
                update(Secret)
                .where(Secret.workspace_id == workspace_id, Secret.name == name)
                .values(key_id=source.key_id, nonce=source.nonce, ciphertext=source.ciphertext)
            )
    async with create_sessionmaker(engine)() as session:
        assert await open_secrets(session, keyring, tenant.workspace_id, ["db"]) == ({"PGPASSWORD": "mine"}, None)
        for workspace_id, name in ((other_tenant.workspace_id, "db"), (tenant.workspace_id, "other")):
            values, error = await open_secrets(session, keyring, workspace_id, [name])
            assert values == {} and error is not None and "cannot be decrypted" in error


async def test_rotation_reads_old_values_and_writes_with_the_new_key(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine
) -> None:
    await put(client, tenant, "db", {"PGPASSWORD": "old"})
    old = await stored(engine, tenant.workspace_id, "db")
    rotated = Keyring.from_setting(f"{KEY_B},{TEST_SECRET_KEYS}")
    assert (
        rotated.open(tenant.workspace_id, "db", Sealed(old.key_id, old.nonce, old.ciphertext))
        == b'{"PGPASSWORD":"old"}'
    )
    with pytest.raises(Undecryptable, match="test1"):
        Keyring.from_setting(KEY_B).open(tenant.workspace_id, "db", Sealed(old.key_id, old.nonce, old.ciphertext))

    sealed = rotated.seal(tenant.workspace_id, "db", b'{"PGPASSWORD":"new"}')
    assert sealed.key_id == "kb"
    assert Keyring.from_setting(KEY_B).open(tenant.workspace_id, "db", sealed) == b'{"PGPASSWORD":"new"}'


async def test_rotation_through_the_api(settings: Settings, tenant: Tenant, engine: AsyncEngine) -> None:
    async with serving(create_app(settings)) as old_client:
        await put(old_client, tenant, "db", {"PGPASSWORD": "old"})
    rotated = settings.model_copy(update={"secret_keys": f"{KEY_B},{TEST_SECRET_KEYS}"})
    async with serving(create_app(rotated)) as new_client:
        await put(new_client, tenant, "api", {"TOKEN": "new"})
    assert (await stored(engine, tenant.workspace_id, "db")).key_id == "test1"
    assert (await stored(engine, tenant.workspace_id, "api")).key_id == "kb"
    keyring = Keyring.from_setting(rotated.secret_keys)
    async with create_sessionmaker(engine)() as session:
        values = await open_secrets(session, keyring, tenant.workspace_id, ["db", "api"])
    assert values == ({"PGPASSWORD": "old", "TOKEN": "new"}, None)


@pytest.mark.parametrize(
    ("values", "status", "named"),
    [
        ({f"K{i}": "v" for i in range(MAX_KEYS + 1)}, 413, "MAX_KEYS"),
        ({"K" * (MAX_KEY_CHARS + 1): "v"}, 422, "MAX_KEY_CHARS"),
        ({"A": "x" * (MAX_VALUE_BYTES // 2), "B": "y" * (MAX_VALUE_BYTES // 2 + 1)}, 413, "MAX_VALUE_BYTES"),
        ({"SKIFF_TOKEN": "v"}, 422, "reserved"),
        ({"1BAD": "v"}, 422, "not a valid variable name"),
        ({}, 422, "at least one"),
    ],
)
async def test_limits_and_names_answer_4xx_naming_the_rule(
    client: httpx.AsyncClient, tenant: Tenant, values: dict[str, str], status: int, named: str
) -> None:
    answer = await put(client, tenant, "db", values)
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]


async def test_scopes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def token(scope: str) -> dict[str, str]:
        body = {"name": scope, "scopes": [scope]}
        created = (await client.post("/v1/tokens", json=body, headers=tenant.headers)).json()
        return {"Authorization": f"Bearer {created['token']}"}

    read, invoke_only, deploy_ = await token("read"), await token("invoke"), await token("deploy")
    body = {"name": "db", "values": {"A": "1"}}
    assert (await client.post("/v1/secrets", json=body, headers=read)).status_code == 403
    assert (await client.post("/v1/secrets", json=body, headers=deploy_)).status_code == 200
    assert (await client.get("/v1/secrets", headers=read)).status_code == 200
    assert (await client.post("/v1/secrets", json=body, headers=invoke_only)).status_code == 403
    assert (await client.delete("/v1/secrets/db", headers=read)).status_code == 403
    assert (await client.delete("/v1/secrets/db", headers=deploy_)).status_code == 200


async def test_the_manifest_names_secrets(client: httpx.AsyncClient, tenant: Tenant) -> None:
    manifest = '[functions.hello]\nhandler = "app:hello"\nsecrets = ["Bad Name", 3]\n'
    answer = await deploy(client, tenant, "greeter", make_bundle({"app.py": HELLO_SOURCE}, manifest))
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"functions.hello.secrets[0]", "functions.hello.secrets[1]"}


async def test_a_start_carries_only_the_declared_secrets(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await put(client, tenant, "db", {"PGPASSWORD": "pw", "SHARED": "from-db"})
    await put(client, tenant, "api", {"API_TOKEN": "tok", "SHARED": "from-api"})
    await put(client, tenant, "unrelated", {"OTHER": "nope"})
    bundle = make_bundle({"app.py": HELLO_SOURCE}, SECRET_MANIFEST)
    assert (await deploy(client, tenant, "greeter", bundle)).status_code == 201

    assert (await invoke(client, tenant, "hello")).status_code == 202
    spec = await start_container(agent, scheduler)
    expected = {"PGPASSWORD": "pw", "API_TOKEN": "tok", "SHARED": "from-api"}  # the later secret wins
    assert spec["secrets"] == expected and spec["secret_error"] is None

    assert (await invoke(client, tenant, "boom")).status_code == 202
    spec = await start_container(agent, scheduler)
    assert spec["function"] == "boom" and spec["secrets"] == {}


async def test_a_woken_poll_carries_the_secrets_too(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await put(client, tenant, "db", {"PGPASSWORD": "pw"})
    await put(client, tenant, "api", {"API_TOKEN": "tok"})
    assert (
        await deploy(client, tenant, "greeter", make_bundle({"app.py": HELLO_SOURCE}, SECRET_MANIFEST))
    ).status_code == 201
    assert (await agent.poll())["start"] == []
    waiting = asyncio.create_task(agent.poll(wait_seconds=10))
    await asyncio.sleep(0.3)  # the poll is blocked on its wake key
    assert (await invoke(client, tenant, "hello")).status_code == 202
    await scheduler.step()
    work: dict[str, Any] = await asyncio.wait_for(waiting, 10)
    assert [start["secrets"] for start in work["start"]] == [{"PGPASSWORD": "pw", "API_TOKEN": "tok"}]


async def test_a_missing_secret_makes_the_start_carry_the_reason(
    client: httpx.AsyncClient, tenant: Tenant, agent: ScriptedAgent, scheduler: Scheduler
) -> None:
    await put(client, tenant, "db", {"PGPASSWORD": "pw"})
    bundle = make_bundle({"app.py": HELLO_SOURCE}, SECRET_MANIFEST)
    assert (await deploy(client, tenant, "greeter", bundle)).status_code == 201  # "api" may be created later
    assert (await invoke(client, tenant, "hello")).status_code == 202
    spec = await start_container(agent, scheduler)
    assert spec["secrets"] == {}
    assert "secret 'api' not found" in spec["secret_error"] and "skiff secret create api" in spec["secret_error"]
