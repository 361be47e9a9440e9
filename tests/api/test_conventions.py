"""API conventions every route follows: problem+json, limits, idempotency, pagination, probes."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from litestar import get
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.db import create_sessionmaker
from api.idempotency.models import IdempotencyKey
from api.idempotency.service import RETENTION, purge_expired
from api.settings import Settings
from tests.conftest import Tenant, serving


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, object] = response.json()
    assert problem["status"] == status
    assert str(problem["type"]).startswith("https://")
    assert problem["title"] and problem["detail"]
    return problem


async def test_unknown_field_is_422_naming_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/tokens", json={"name": "x", "workspace_id": "ws_1"}, headers=tenant.headers)
    problem = assert_problem(response, 422)
    assert "workspace_id" in str(problem["detail"])
    assert problem["errors"] == [{"field": "workspace_id", "message": "Object contains unknown field `workspace_id`"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5}, "name"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({}, "name"),
        ({"name": ""}, "name"),
    ],
)
async def test_wrong_types_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    problem = assert_problem(await client.post("/v1/tokens", json=body, headers=tenant.headers), 422)
    fields = [e["field"] for e in problem["errors"]]  # type: ignore[attr-defined]
    assert any(f.startswith(field) for f in fields), problem


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/tokens", content=b'{"name": ', headers={**tenant.headers, "content-type": "application/json"}
    )
    problem = assert_problem(response, 400)
    assert "JSON" in str(problem["detail"])


async def test_body_over_the_limit_is_413_naming_the_limit(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    limit = settings.max_json_body_bytes
    body = json.dumps({"name": "x" * limit}).encode()
    problem = assert_problem(
        await client.post("/v1/tokens", content=body, headers={**tenant.headers, "content-type": "application/json"}),
        413,
    )
    assert str(limit) in str(problem["detail"])


async def test_body_one_byte_under_the_limit_is_not_413(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    prefix, suffix = b'{"name": "x", "pad": "', b'"}'
    body = prefix + b"y" * (settings.max_json_body_bytes - len(prefix) - len(suffix)) + suffix
    assert len(body) == settings.max_json_body_bytes
    response = await client.post(
        "/v1/tokens", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 422  # parsed, then refused for the unknown field — not for its size


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_problem(await client.get("/v1/nothing-here", headers=tenant.headers), 404)
    assert_problem(await client.put("/v1/tokens", headers=tenant.headers), 405)


async def test_idempotent_create_returns_the_same_object(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "create-ci-token-1"}
    first = await client.post("/v1/tokens", json={"name": "ci", "scopes": ["read"]}, headers=headers)
    assert first.status_code == 201
    again = await client.post("/v1/tokens", json={"scopes": ["read"], "name": "ci"}, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["token"] is None  # the plaintext is shown once
    other = await client.post("/v1/tokens", json={"name": "other", "scopes": ["read"]}, headers=headers)
    problem = assert_problem(other, 422)
    assert "different request body" in str(problem["detail"])
    listed = (await client.get("/v1/tokens", headers=tenant.headers)).json()["items"]
    assert [t["name"] for t in listed].count("ci") == 1


async def test_concurrent_requests_with_one_key_create_one_object(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *[client.post("/v1/tokens", json={"name": "race", "scopes": ["read"]}, headers=headers) for _ in range(8)]
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_idempotency_keys_are_per_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = {"name": "shared-key", "scopes": ["read"]}
    mine = await client.post("/v1/tokens", json=body, headers={**tenant.headers, "Idempotency-Key": "k"})
    theirs = await client.post("/v1/tokens", json=body, headers={**other_tenant.headers, "Idempotency-Key": "k"})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_bad_idempotency_key_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/tokens", json={"name": "x"}, headers={**tenant.headers, "Idempotency-Key": "k" * 256}
    )
    assert "Idempotency-Key" in str(assert_problem(response, 400)["detail"])


async def test_cursor_pagination_walks_every_item_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for i in range(7):
        assert (await client.post("/v1/tokens", json={"name": f"t{i}"}, headers=tenant.headers)).status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/tokens", params=params, headers=tenant.headers)).json()
        seen += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # 8 tokens (7 + admin) in pages of 3
    assert len(seen) == len(set(seen)) == 8
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(("params", "status"), [({"limit": 0}, 400), ({"limit": 201}, 400), ({"cursor": "%%%"}, 400)])
async def test_bad_page_parameters_are_400(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, object], status: int
) -> None:
    assert_problem(await client.get("/v1/tokens", params=params, headers=tenant.headers), status)


async def test_probes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/livez")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_readyz_names_what_is_down(settings: Settings) -> None:
    broken = Settings(**{**settings.model_dump(), "redis_url": "redis://127.0.0.1:1/0"})
    async with serving(create_app(broken)) as client:
        problem = assert_problem(await client.get("/readyz"), 503)
        assert "redis" in str(problem["detail"]) and "postgres" not in str(problem["detail"]).split("(")[0]
        assert client.get  # the app itself still answers
        assert (await client.get("/livez")).status_code == 200


async def test_metrics_count_requests_by_route_and_status(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.get("/v1/tokens", headers=tenant.headers)
    await client.get("/v1/tokens")
    text = (await client.get("/metrics")).text
    assert 'skiff_http_requests_total{method="GET",route="/v1/tokens",status="200"}' in text
    assert 'skiff_http_requests_total{method="GET",route="/v1/tokens",status="401"}' in text
    assert "skiff_http_request_duration_seconds_bucket" in text


async def test_unexpected_errors_are_500_problems_without_traceback(settings: Settings) -> None:
    @get("/boom", opt={"public": True}, sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 3")

    app = create_app(settings)
    app.register(boom)
    async with serving(app) as client:
        response = await client.get("/boom")
    problem = assert_problem(response, 500)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert problem["detail"] == "internal error; the server log has the details"


async def test_database_down_is_503_with_retry_after(settings: Settings) -> None:
    broken = Settings(**{**settings.model_dump(), "database_url": "postgresql+asyncpg://skiff@127.0.0.1:1/skiff"})
    async with serving(create_app(broken)) as client:
        response = await client.get("/v1/tokens", headers={"Authorization": "Bearer sk_" + "A" * 43})
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"


async def test_idempotency_keys_expire_after_their_retention(
    client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "old-key"}
    first = (await client.post("/v1/tokens", json={"name": "k"}, headers=headers)).json()
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.workspace_id == tenant.workspace_id)
            .values(created_at=IdempotencyKey.created_at - RETENTION - timedelta(minutes=1))
        )
        assert await purge_expired(session) >= 1
    again = await client.post("/v1/tokens", json={"name": "k"}, headers=headers)
    assert again.status_code == 201 and again.json()["id"] != first["id"]
