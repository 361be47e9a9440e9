"""Autoscaling changed at runtime: PATCH on a function, validated like the manifest, kept across
redeploys that leave the setting alone, dropped by one that changes it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.apps.autoscaling import effective, kept_after_deploy, patched
from api.errors import Unprocessable
from tests.api.test_apps import deploy
from tests.bundles import make_bundle
from tests.conftest import Tenant

SOURCE = "def f():\n    return 1\n"


def manifest(**settings: int) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    return f'[functions.f]\nhandler = "app:f"\n{lines}\n[functions.g]\nhandler = "app:f"\n'


async def patch(client: httpx.AsyncClient, tenant: Tenant, app: str, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(f"/v1/apps/{app}/functions/f", json=body, headers=tenant.headers)


async def function(client: httpx.AsyncClient, tenant: Tenant, app: str) -> dict[str, Any]:
    response = await client.get(f"/v1/apps/{app}/functions/f", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_patch_changes_the_settings_and_null_returns_one_to_the_manifest(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await deploy(client, tenant, "scaled", make_bundle({"app.py": SOURCE}, manifest(max_containers=4)))
    answer = await patch(client, tenant, "scaled", {"min_containers": 1, "scaledown_window": 300})
    assert answer.status_code == 200, answer.text
    assert answer.json()["autoscaling"] == {
        "min_containers": 1,
        "max_containers": 4,
        "buffer_containers": 0,
        "scaledown_window": 300,
    }
    assert answer.json()["overrides"] == {"min_containers": 1, "scaledown_window": 300}
    assert (await function(client, tenant, "scaled"))["overrides"] == {"min_containers": 1, "scaledown_window": 300}
    listed = (await client.get("/v1/apps/scaled/functions", headers=tenant.headers)).json()["items"]
    assert {f["name"]: f["overrides"] for f in listed} == {"f": {"min_containers": 1, "scaledown_window": 300}, "g": {}}

    cleared = (await patch(client, tenant, "scaled", {"scaledown_window": None})).json()
    assert cleared["overrides"] == {"min_containers": 1}
    assert cleared["autoscaling"]["scaledown_window"] == 60  # the manifest's (its default)
    assert (await patch(client, tenant, "scaled", {"min_containers": None})).json()["overrides"] == {}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"max_containers": 0}, 422, ["max_containers = 0", "allowed 1..1000"]),
        ({"scaledown_window": 1}, 422, ["scaledown_window = 1", "allowed 2..86400"]),
        ({"min_containers": 5}, 422, ["min_containers (5)", "max_containers (4)"]),
        ({"max_inputs": 2}, 422, ["unknown field `max_inputs`"]),
        ({"min_containers": "two"}, 422, ["min_containers"]),
    ],
)
async def test_a_bad_patch_names_the_setting_and_its_limit(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], status: int, words: list[str]
) -> None:
    await deploy(client, tenant, "limits", make_bundle({"app.py": SOURCE}, manifest(max_containers=4)))
    answer = await patch(client, tenant, "limits", body)
    assert answer.status_code == status, answer.text
    assert all(word in answer.text for word in words), answer.text
    assert (await function(client, tenant, "limits"))["overrides"] == {}


async def test_a_patch_needs_a_function_of_the_current_version_and_the_deploy_scope(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await deploy(client, tenant, "scopes", make_bundle({"app.py": SOURCE}, manifest()))
    missing = await client.patch("/v1/apps/scopes/functions/nope", json={}, headers=tenant.headers)
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"]
    reader = (
        await client.post("/v1/tokens", json={"name": "reader", "scopes": ["read"]}, headers=tenant.headers)
    ).json()["token"]
    refused = await client.patch(
        "/v1/apps/scopes/functions/f", json={"min_containers": 1}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert refused.status_code == 403 and "deploy" in refused.json()["detail"]


async def test_overrides_outlive_a_redeploy_unless_it_changes_the_setting(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await deploy(client, tenant, "kept", make_bundle({"app.py": SOURCE}, manifest(max_containers=4)))
    await patch(client, tenant, "kept", {"min_containers": 2, "max_containers": 6})
    # New code, same manifest: both overrides stay.
    changed_code = make_bundle({"app.py": SOURCE + "# v2\n"}, manifest(max_containers=4))
    second = await deploy(client, tenant, "kept", changed_code)
    assert second.json()["version"] == 2
    assert (await function(client, tenant, "kept"))["overrides"] == {"min_containers": 2, "max_containers": 6}
    # The manifest now says max_containers = 10: the deploy wins for that setting only.
    third = await deploy(client, tenant, "kept", make_bundle({"app.py": SOURCE}, manifest(max_containers=10)))
    assert third.json()["functions"][0]["overrides"] == {"min_containers": 2}
    body = await function(client, tenant, "kept")
    assert body["version"] == 3 and body["overrides"] == {"min_containers": 2}
    assert body["autoscaling"]["max_containers"] == 10


def test_the_effective_settings_and_what_a_version_no_longer_current_keeps() -> None:
    spec = {"min_containers": 1, "max_containers": 4, "buffer_containers": 1}
    assert effective(spec, {"max_containers": 6}) == {
        "min_containers": 1,
        "max_containers": 6,
        "buffer_containers": 1,
        "scaledown_window": 60,
    }
    assert effective(spec, {}, current=False) == {
        "min_containers": 0,
        "max_containers": 4,
        "buffer_containers": 0,
        "scaledown_window": 60,
    }


@pytest.mark.parametrize(
    ("overrides", "before", "after", "kept"),
    [
        ({"min_containers": 2}, {}, {}, {"min_containers": 2}),  # defaults on both sides: unchanged
        ({"min_containers": 2}, {"min_containers": 1}, {"min_containers": 1}, {"min_containers": 2}),
        ({"min_containers": 2}, {"min_containers": 1}, {"min_containers": 3}, {}),
        ({"min_containers": 2}, {}, {"min_containers": 0}, {"min_containers": 2}),  # 0 is the default
        ({"min_containers": 2, "scaledown_window": 9}, {}, {"scaledown_window": 30}, {"min_containers": 2}),
        ({"min_containers": 2}, None, {"min_containers": 5}, {"min_containers": 2}),  # no earlier version
        # max_containers changed to 1 in the manifest: a kept min of 2 would clash, so the deploy wins
        ({"min_containers": 2}, {}, {"max_containers": 1}, {}),
    ],
)
def test_a_deploy_keeps_the_overrides_of_settings_it_leaves_alone(
    overrides: dict[str, int], before: dict[str, int] | None, after: dict[str, int], kept: dict[str, int]
) -> None:
    assert kept_after_deploy(overrides, before, after) == kept


def test_a_patch_is_checked_against_the_settings_it_would_make() -> None:
    assert patched({"max_containers": 4}, {"min_containers": 1}, {"max_containers": 2}) == {
        "min_containers": 1,
        "max_containers": 2,
    }
    with pytest.raises(Unprocessable, match="min_containers \\(3\\) would be more than max_containers \\(2\\)"):
        patched({"min_containers": 3}, {}, {"max_containers": 2})  # against the manifest's min
