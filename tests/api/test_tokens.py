"""Tokens: creation, listing, revocation and how they authenticate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.calls.store import CallStore
from api.db import create_sessionmaker
from api.tokens import lookup
from api.tokens.models import Token
from tests.conftest import Tenant


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    return await client.post("/v1/tokens", json={"name": "ci", **body}, headers=tenant.headers)


async def test_created_token_is_shown_once_and_authenticates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(client, tenant, scopes=["read"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["token"].startswith("sk_") and len(body["token"]) == 46
    assert body["prefix"] == body["token"][:10]
    assert body["scopes"] == ["read"] and body["kind"] == "user"

    listed = await client.get("/v1/tokens", headers=tenant.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {i["id"] for i in items} >= {body["id"]}
    assert all("token" not in i for i in items)

    whoami = await client.get("/v1/workspace", headers={"Authorization": f"Bearer {body['token']}"})
    assert whoami.status_code == 200
    assert whoami.json()["id"] == tenant.workspace_id


async def test_last_used_is_recorded(client: httpx.AsyncClient, tenant: Tenant) -> None:
    token = (await create(client, tenant, scopes=["read"])).json()
    assert token["last_used_at"] is None
    await client.get("/v1/workspace", headers={"Authorization": f"Bearer {token['token']}"})
    fetched = (await client.get(f"/v1/tokens/{token['id']}", headers=tenant.headers)).json()
    assert fetched["last_used_at"] is not None


async def test_revoked_token_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    token = (await create(client, tenant, scopes=["read"])).json()
    auth = {"Authorization": f"Bearer {token['token']}"}
    assert (await client.get("/v1/workspace", headers=auth)).status_code == 200
    revoked = await client.delete(f"/v1/tokens/{token['id']}", headers=tenant.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = await client.get("/v1/workspace", headers=auth)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "revoked" in refused.json()["detail"]
    again = await client.delete(f"/v1/tokens/{token['id']}", headers=tenant.headers)
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (None, "missing bearer token"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization header"),
        ("Bearer", "malformed Authorization header"),
        ("Bearer not-a-token", "malformed token"),
        ("Bearer sk_" + "A" * 43, "unknown token"),
        ("Bearer sk_" + "A" * 44, "malformed token"),
        ("Bearer ' OR 1=1 --", "malformed token"),
    ],
)
async def test_bad_credentials_answer_401_with_reason(
    client: httpx.AsyncClient, header: str | None, fragment: str
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.get("/v1/tokens", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["status"] == 401 and fragment in problem["detail"]


async def test_a_check_notes_the_last_use_at_most_once_per_interval(
    client: httpx.AsyncClient, tenant: Tenant, database_url: str
) -> None:
    token = (await create(client, tenant, scopes=["read"])).json()
    store = CallStore(database_url, size=1, timeout=5)

    async def last_used() -> datetime | None:
        value: datetime | None = await (await store.pool()).fetchval(
            "SELECT last_used_at FROM tokens WHERE id = $1", token["id"]
        )
        return value

    try:
        principal = await lookup.authenticate(await store.pool(), token["token"], timedelta(hours=1))
        assert principal.token_id == token["id"] and principal.workspace_id == tenant.workspace_id
        first = await last_used()
        assert first is not None
        await lookup.authenticate(await store.pool(), token["token"], timedelta(hours=1))
        assert await last_used() == first  # within the interval: no write
        await lookup.authenticate(await store.pool(), token["token"], timedelta(0))
        later = await last_used()
        assert later is not None and later > first
    finally:
        await store.close()


async def test_expired_token_is_refused(client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine) -> None:
    token = (await create(client, tenant, scopes=["read"], expires_at="2099-01-01T00:00:00Z")).json()
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Token).where(Token.id == token["id"]).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    response = await client.get("/v1/workspace", headers={"Authorization": f"Bearer {token['token']}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    ("scopes", "route", "allowed"),
    [
        (["read"], ("GET", "/v1/workspace"), True),
        (["read"], ("GET", "/v1/tokens"), False),
        (["read"], ("POST", "/v1/tokens"), False),
        (["deploy"], ("GET", "/v1/workspace"), True),
        (["invoke"], ("GET", "/v1/tokens"), False),
        (["deploy", "invoke"], ("POST", "/v1/tokens"), False),
        (["admin"], ("POST", "/v1/tokens"), True),
        (["admin"], ("GET", "/v1/tokens"), True),
    ],
)
async def test_scopes_are_enforced(
    client: httpx.AsyncClient, tenant: Tenant, scopes: list[str], route: tuple[str, str], allowed: bool
) -> None:
    token = (await create(client, tenant, scopes=scopes)).json()["token"]
    method, path = route
    body = {"name": "x"} if method == "POST" else None
    response = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    if allowed:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403
        assert "scope" in response.json()["detail"]


async def test_node_tokens_cannot_use_user_routes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    node = (await create(client, tenant, kind="node")).json()
    assert node["token"].startswith("nk_") and node["scopes"] == []
    response = await client.get("/v1/workspace", headers={"Authorization": f"Bearer {node['token']}"})
    assert response.status_code == 403
    assert "node tokens" in response.json()["detail"]


async def test_node_tokens_take_no_scopes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await create(client, tenant, kind="node", scopes=["admin"])
    assert response.status_code == 422
    assert "node tokens take no scopes" in response.json()["detail"]


async def test_other_workspace_token_ids_answer_404_like_missing_ones(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = (await create(client, other_tenant, scopes=["read"])).json()
    mine_missing = "tok_" + "0" * 26
    for token_id in (theirs["id"], mine_missing):
        for method in ("GET", "DELETE"):
            response = await client.request(method, f"/v1/tokens/{token_id}", headers=tenant.headers)
            assert response.status_code == 404
            assert response.json()["detail"] == f"token {token_id!r} not found"
    listed = (await client.get("/v1/tokens", headers=tenant.headers)).json()["items"]
    assert theirs["id"] not in {t["id"] for t in listed}
    still = await client.get("/v1/workspace", headers={"Authorization": f"Bearer {theirs['token']}"})
    assert still.status_code == 200


@pytest.mark.parametrize(
    "hostile", ["..%2F..%2Fetc", "%2e%2e", "x" * 10_000, "tok_'; DROP TABLE tokens; --", "tok_%00"]
)
async def test_hostile_ids_answer_404(client: httpx.AsyncClient, tenant: Tenant, hostile: str) -> None:
    response = await client.get(f"/v1/tokens/{hostile}", headers=tenant.headers)
    assert response.status_code in (400, 404)
    assert response.headers["content-type"] == "application/problem+json"
