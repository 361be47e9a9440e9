"""Deploying bundles: versions, identical bundles, listing, rollback, bad bundles, tenancy."""

from __future__ import annotations

import httpx
import pytest

from tests.bundles import HELLO_MANIFEST, hello_bundle, make_bundle
from tests.conftest import Tenant


async def deploy(client: httpx.AsyncClient, tenant: Tenant, app: str, bundle: bytes) -> httpx.Response:
    return await client.post(
        f"/v1/apps/{app}/deployments",
        content=bundle,
        headers={**tenant.headers, "content-type": "application/octet-stream"},
    )


async def test_deploy_creates_versions_and_reuses_identical_bundles(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await deploy(client, tenant, "greeter", hello_bundle())
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["version"] == 1 and body["current"] is True
    assert sorted(f["name"] for f in body["functions"]) == ["boom", "hello"]
    hello = next(f for f in body["functions"] if f["name"] == "hello")
    assert hello["calls_url"].endswith("/v1/apps/greeter/functions/hello/calls")
    assert hello["spec"]["handler"] == "app:hello"

    again = await deploy(client, tenant, "greeter", hello_bundle())
    assert again.status_code == 200 and again.json()["version"] == 1

    second = await deploy(client, tenant, "greeter", hello_bundle(**{"extra.py": "X = 1\n"}))
    assert second.status_code == 201 and second.json()["version"] == 2

    app = (await client.get("/v1/apps/greeter", headers=tenant.headers)).json()
    assert app["current_version"] == 2 and app["latest_version"] == 2
    versions = (await client.get("/v1/apps/greeter/deployments", headers=tenant.headers)).json()["items"]
    assert [d["version"] for d in versions] == [2, 1]

    rolled = await client.post("/v1/apps/greeter/rollback", json={"version": 1}, headers=tenant.headers)
    assert rolled.status_code == 200 and rolled.json()["current"] is True
    assert (await client.get("/v1/apps/greeter", headers=tenant.headers)).json()["current_version"] == 1
    missing = await client.post("/v1/apps/greeter/rollback", json={"version": 9}, headers=tenant.headers)
    assert missing.status_code == 404 and "no version 9" in missing.json()["detail"]


async def test_zip_bundles_deploy_too(client: httpx.AsyncClient, tenant: Tenant) -> None:
    from tests.bundles import HELLO_SOURCE

    response = await deploy(client, tenant, "zipped", make_bundle({"app.py": HELLO_SOURCE}, HELLO_MANIFEST, fmt="zip"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("files", "manifest", "fragment"),
    [
        ({"app.py": "def f(): pass\n"}, "[functions.f]\nhandler = 'missing:f'\n", "missing"),
        ({"app.py": "def f(:\n"}, "[functions.f]\nhandler = 'app:f'\n", "app.py"),
        ({"app.py": "def f(): pass\n"}, "[functions.f]\nhandler = 'app:f'\nmemroy = 5\n", "memroy"),
        ({"app.py": "def f(): pass\n"}, "[functions.f]\nhandler = 'app:f'\nmemory = 1\n", "memory"),
        ({"app.py": "def f(): pass\n"}, "[functions.f]\nhandler = 'app:f'\nrequirements = ['-e .']\n", "-e"),
    ],
)
async def test_bad_bundles_are_422_naming_the_problem(
    client: httpx.AsyncClient, tenant: Tenant, files: dict[str, str], manifest: str, fragment: str
) -> None:
    response = await deploy(client, tenant, "bad", make_bundle(files, manifest))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.text
    assert response.json()["errors"]


async def test_not_an_archive_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await deploy(client, tenant, "junk", b"this is not an archive at all" * 10)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_app_names_are_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await deploy(client, tenant, "Bad_Name", hello_bundle())
    assert response.status_code == 400 and "app name" in response.json()["detail"]


async def test_deploy_needs_the_deploy_scope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    token = (await client.post("/v1/tokens", json={"name": "r", "scopes": ["invoke"]}, headers=tenant.headers)).json()
    response = await client.post(
        "/v1/apps/x/deployments", content=hello_bundle(), headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert response.status_code == 403


async def test_apps_of_other_workspaces_are_invisible(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert (await deploy(client, tenant, "private", hello_bundle())).status_code == 201
    for path in (
        "/v1/apps/private",
        "/v1/apps/private/deployments",
        "/v1/apps/private/functions",
        "/v1/apps/private/deployments/1",
    ):
        assert (await client.get(path, headers=other_tenant.headers)).status_code == 404, path
    assert (await client.get("/v1/apps", headers=other_tenant.headers)).json()["items"] == []
    call = await client.post("/v1/apps/private/functions/hello/calls", json={}, headers=other_tenant.headers)
    assert call.status_code == 404


async def test_the_same_files_archived_again_are_the_same_version(client: httpx.AsyncClient, tenant: Tenant) -> None:
    from tests.bundles import HELLO_SOURCE

    as_tar = make_bundle({"app.py": HELLO_SOURCE}, HELLO_MANIFEST)
    as_zip = make_bundle({"app.py": HELLO_SOURCE}, HELLO_MANIFEST, fmt="zip")
    assert as_tar != as_zip
    first = await deploy(client, tenant, "same", as_tar)
    again = await deploy(client, tenant, "same", as_zip)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["version"] == first.json()["version"] == 1
    changed = await deploy(client, tenant, "same", make_bundle({"app.py": HELLO_SOURCE + "\n# v2\n"}, HELLO_MANIFEST))
    assert changed.status_code == 201 and changed.json()["version"] == 2
