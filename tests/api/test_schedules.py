"""Schedules through the API: create, read with a preview, list, pause, resume, delete; validation,
idempotent creation, scopes and tenancy. Firing is tested in tests/scheduler/test_schedules.py."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, literal, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import create_sessionmaker
from api.schedules.models import Schedule
from tests.api.test_apps import deploy
from tests.api.test_conventions import assert_problem
from tests.bundles import hello_bundle
from tests.conftest import Tenant

# Slots far enough apart that no schedule made here fires while the test session runs.
DAILY: dict[str, Any] = {"app": "greeter", "function": "hello", "cron": "0 9 * * *"}


@pytest.fixture
async def greeter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await deploy(client, tenant, "greeter", hello_bundle())).status_code == 201


async def create(
    client: httpx.AsyncClient, tenant: Tenant, *, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return await client.post("/v1/schedules", json=body, headers={**tenant.headers, **(headers or {})})


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.usefixtures("greeter")
async def test_create_read_list_and_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(client, tenant, **DAILY, timezone="America/New_York", args=["ada"], kwargs={"x": 1})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["id"].startswith("sch_")
    assert {k: schedule[k] for k in ("app", "function", "cron", "period_seconds", "timezone", "args", "kwargs")} == {
        "app": "greeter",
        "function": "hello",
        "cron": "0 9 * * *",
        "period_seconds": None,
        "timezone": "America/New_York",
        "args": ["ada"],
        "kwargs": {"x": 1},
    }
    assert schedule["paused"] is False and schedule["last_fired_at"] is None and schedule["last_call_id"] is None
    next_fire_at = when(schedule["next_fire_at"])
    assert when(schedule["created_at"]) < next_fire_at <= when(schedule["created_at"]) + timedelta(days=1)

    detail = (await client.get(f"/v1/schedules/{schedule['id']}", headers=tenant.headers)).json()
    runs = [when(r) for r in detail["next_runs"]]
    assert len(runs) == 5 and runs[0] == next_fire_at
    assert all(r.astimezone(ZoneInfo("America/New_York")).hour == 9 for r in runs)
    assert all(later > earlier for earlier, later in itertools.pairwise(runs))

    listed = (await client.get("/v1/schedules", headers=tenant.headers)).json()
    assert [s["id"] for s in listed["items"]] == [schedule["id"]] and listed["next_cursor"] is None
    assert "next_runs" not in listed["items"][0]

    deleted = await client.delete(f"/v1/schedules/{schedule['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/v1/schedules/{schedule['id']}", headers=tenant.headers), 404)
    assert_problem(await client.delete(f"/v1/schedules/{schedule['id']}", headers=tenant.headers), 404)


@pytest.mark.usefixtures("greeter")
async def test_a_period_counts_from_the_creation_time(client: httpx.AsyncClient, tenant: Tenant) -> None:
    schedule = (await create(client, tenant, app="greeter", function="hello", period_seconds=3600)).json()
    anchor = when(schedule["created_at"]).replace(microsecond=0)
    assert when(schedule["next_fire_at"]) == anchor + timedelta(hours=1)
    detail = (await client.get(f"/v1/schedules/{schedule['id']}", headers=tenant.headers)).json()
    assert [when(r) for r in detail["next_runs"]] == [anchor + timedelta(hours=k) for k in range(1, 6)]


@pytest.mark.usefixtures("greeter")
@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"cron": "61 9 * * *"}, "cron", "minute field '61': 61 is out of range 0-59"),
        ({"cron": "0 9 * *"}, "cron", "5 fields"),
        ({"cron": "0 0 30 2 *"}, "cron", "never fires"),
        ({"timezone": "Mars/Base"}, "timezone", "unknown time zone 'Mars/Base'"),
        ({"period_seconds": 3600}, "cron", "exactly one of `cron`"),
        ({"cron": None}, "cron", "got neither"),
        ({"cron": None, "period_seconds": 59}, "period_seconds", ">= 60"),
        ({"cron": ""}, "cron", "length >= 1"),
        ({"args": "ada"}, "args", "Expected `array`"),
        ({"kwargs": []}, "kwargs", "Expected `object`"),
        ({"function": "no spaces"}, "function", "matching regex"),
        ({"app": "Greeter"}, "app", "matching regex"),
        ({"every": 60}, "every", "unknown field"),
    ],
)
async def test_invalid_schedules_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, fragment: str
) -> None:
    problem = assert_problem(await create(client, tenant, **{**DAILY, **body}), 422)
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert any(e["field"] == field and fragment in e["message"] for e in errors), problem
    assert field in str(problem["detail"])


@pytest.mark.usefixtures("greeter")
async def test_every_invalid_timing_field_is_named_at_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    problem = assert_problem(await create(client, tenant, **{**DAILY, "cron": "* * * * 9", "timezone": "Nowhere"}), 422)
    assert sorted(e["field"] for e in problem["errors"]) == ["cron", "timezone"]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("greeter")
@pytest.mark.parametrize(
    ("app", "function", "detail"),
    [
        ("nope", "hello", "app 'nope' not found"),
        ("greeter", "nope", "function 'nope' not found in app 'greeter' version 1; functions: boom, hello"),
    ],
)
async def test_the_function_must_exist(
    client: httpx.AsyncClient, tenant: Tenant, app: str, function: str, detail: str
) -> None:
    problem = assert_problem(await create(client, tenant, **{**DAILY, "app": app, "function": function}), 404)
    assert problem["detail"] == detail


@pytest.mark.usefixtures("greeter")
async def test_pause_and_resume_without_a_burst(client: httpx.AsyncClient, tenant: Tenant, engine: AsyncEngine) -> None:
    schedule = (await create(client, tenant, app="greeter", function="hello", cron="*/5 * * * *")).json()
    url = f"/v1/schedules/{schedule['id']}"

    paused = await client.post(f"{url}/pause", headers=tenant.headers)
    assert paused.status_code == 200 and paused.json()["paused"] is True and paused.json()["next_fire_at"] is None
    assert (await client.post(f"{url}/pause", headers=tenant.headers)).json()["paused"] is True
    assert (await client.get(url, headers=tenant.headers)).json()["next_runs"] == []

    # A day passes while paused.
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(
            update(Schedule)
            .where(Schedule.id == schedule["id"])
            .values(next_fire_at=func.now() - literal(timedelta(days=1)))
        )
    resumed = (await client.post(f"{url}/resume", headers=tenant.headers)).json()
    assert resumed["paused"] is False
    next_fire_at = when(resumed["next_fire_at"])
    assert next_fire_at > when(schedule["created_at"]) and next_fire_at.minute % 5 == 0 and next_fire_at.second == 0
    again = (await client.post(f"{url}/resume", headers=tenant.headers)).json()
    assert again["next_fire_at"] == resumed["next_fire_at"]  # resuming an active schedule changes nothing


@pytest.mark.usefixtures("greeter")
async def test_idempotent_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {"Idempotency-Key": "nightly-1"}
    first = await create(client, tenant, headers=headers, **DAILY)
    assert first.status_code == 201
    again = await create(client, tenant, headers=headers, **DAILY)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await create(client, tenant, headers=headers, **{**DAILY, "cron": "0 10 * * *"})
    assert "different request body" in str(assert_problem(other, 422)["detail"])
    assert len((await client.get("/v1/schedules", headers=tenant.headers)).json()["items"]) == 1


@pytest.mark.usefixtures("greeter")
async def test_pages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await create(client, tenant, **DAILY)).json()["id"] for _ in range(3)]
    first = (await client.get("/v1/schedules", params={"limit": 2}, headers=tenant.headers)).json()
    second = (
        await client.get("/v1/schedules", params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.headers)
    ).json()
    assert [s["id"] for s in first["items"] + second["items"]] == ids[::-1] and second["next_cursor"] is None


@pytest.mark.usefixtures("greeter")
async def test_reading_needs_read_and_changing_needs_deploy(client: httpx.AsyncClient, tenant: Tenant) -> None:
    schedule = (await create(client, tenant, **DAILY)).json()
    token = (await client.post("/v1/tokens", json={"name": "ro", "scopes": ["read"]}, headers=tenant.headers)).json()
    reader = {"Authorization": f"Bearer {token['token']}"}
    assert (await client.get(f"/v1/schedules/{schedule['id']}", headers=reader)).status_code == 200
    assert_problem(await client.post("/v1/schedules", json=DAILY, headers=reader), 403)
    assert_problem(await client.post(f"/v1/schedules/{schedule['id']}/pause", headers=reader), 403)
    assert_problem(await client.delete(f"/v1/schedules/{schedule['id']}", headers=reader), 403)
    assert_problem(await client.get("/v1/schedules"), 401)


@pytest.mark.usefixtures("greeter")
async def test_another_workspaces_schedule_is_404_like_a_missing_one(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = (await create(client, tenant, **DAILY)).json()["id"]
    missing = "sch_" + "0" * 26
    for method, suffix in [("GET", ""), ("POST", "/pause"), ("POST", "/resume"), ("DELETE", "")]:
        theirs = await client.request(method, f"/v1/schedules/{mine}{suffix}", headers=other_tenant.headers)
        absent = await client.request(method, f"/v1/schedules/{missing}{suffix}", headers=other_tenant.headers)
        assert assert_problem(theirs, 404)["detail"] == f"schedule {mine!r} not found"
        assert assert_problem(absent, 404)["detail"] == f"schedule {missing!r} not found"
    assert (await client.get("/v1/schedules", headers=other_tenant.headers)).json()["items"] == []
    assert (await client.get(f"/v1/schedules/{mine}", headers=tenant.headers)).status_code == 200
    # The app is named within the caller's workspace: another workspace has no `greeter`.
    assert_problem(await create(client, other_tenant, **DAILY), 404)
