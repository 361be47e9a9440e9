"""Environments built at deploy time, with a real agent building them with pip: `skiff deploy`
waits for the build and shows it, the build is done before any call, and the first call builds
nothing; a requirement pip cannot install fails the build, and the deploy, with pip's message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from tests.conftest import Tenant
from tests.e2e.conftest import Platform, Process, bootstrap_tenant, start_agent

SKIFF = Path(sys.executable).parent / "skiff"
APP_SOURCE = """
import skiff

app = skiff.App("{name}")


@app.function(image=skiff.Image(pip=[{requirement!r}]), memory=256)
def version() -> str:
    import iniconfig

    return iniconfig.__file__


@app.function(memory=256)
def plain() -> int:
    return 1
"""
# A second function of the same environment: one build on the node serves both requests.
TWIN_SOURCE = """

@app.function(image=skiff.Image(pip=[{requirement!r}]), memory=256)
def twin() -> str:
    import iniconfig

    return iniconfig.__file__
"""


@dataclass
class Builder:
    """A workspace of its own with one fresh agent: an empty environment cache."""

    url: str
    tenant: Tenant
    agent: Process
    state: Path
    name: str = "builder"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.tenant.headers, timeout=70)

    def skiff(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SKIFF_URL": self.url, "SKIFF_TOKEN": self.tenant.token}
        return subprocess.run([SKIFF, *argv], capture_output=True, text=True, env=env, timeout=240, check=False)


@pytest.fixture
def builder(platform: Platform, settings: Settings, open_tmp: Path) -> Iterator[Builder]:
    tenant = bootstrap_tenant(settings, "builds")
    token = httpx.post(
        f"{platform.url}/v1/tokens", json={"name": "agent", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    state = open_tmp / "node"
    node = Builder(platform.url, tenant, start_agent(platform.url, token, settings, state, "builder"), state)
    deadline = time.monotonic() + 30
    with node.http() as http:
        while not [n for n in http.get("/v1/nodes").json()["items"] if n["state"] == "ready"]:
            if time.monotonic() > deadline:
                pytest.fail(f"the agent did not register:\n{node.agent.output()[-3000:]}")
            time.sleep(0.1)
    yield node
    node.agent.stop(30)


def write_app(directory: Path, name: str, requirement: str, *, twin: bool = False) -> Path:
    path = directory / f"app_{uuid.uuid4().hex[:8]}.py"  # a module name of its own: the loader registers it
    source = APP_SOURCE + (TWIN_SOURCE if twin else "")
    path.write_text(textwrap.dedent(source.format(name=name, requirement=requirement)))
    return path


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_skiff_deploy_builds_the_environment_before_any_call_and_the_first_call_builds_nothing(
    builder: Builder, tmp_path: Path
) -> None:
    name = f"prebuilt-{uuid.uuid4().hex[:6]}"
    deployed = builder.skiff("deploy", str(write_app(tmp_path, name, "iniconfig==2.0.0", twin=True)), "--json")
    assert deployed.returncode == 0, deployed.stderr + builder.agent.output()[-3000:]
    answer = json.loads(deployed.stdout)
    # `plain` has no requirements: nothing to build; `twin` shares `version`'s environment
    built, twin = sorted(answer["builds"], key=lambda b: b["function"], reverse=True)
    assert [(b["function"], b["state"], b["node"], b["requested"]) for b in (built, twin)] == [
        ("version", "succeeded", "builder", True),
        ("twin", "succeeded", "builder", True),
    ]
    assert built["image_key"] == twin["image_key"] and "iniconfig" in built["log"] and built["seconds"] > 0
    environments = builder.state / "environments"
    assert [p.name for p in environments.iterdir() if not p.name.startswith(".")] == [built["image_key"]]
    with builder.http() as http:
        assert http.get("/v1/calls", params={"app": name}).json()["items"] == []  # built before any call
        marker = builder.state / "environments" / built["image_key"] / ".skiff-ready"
        built_at = marker.stat().st_mtime_ns

        call = http.post(f"/v1/apps/{name}/functions/version/calls", json={}, headers={"Prefer": "wait=60"}).json()
        while call["status"] in ("queued", "running"):
            call = http.get(f"/v1/calls/{call['id']}/result", params={"wait": 30}).json()
        assert call["status"] == "succeeded", call
        assert "site-packages/iniconfig" in call["result"], call  # from the environment built at deploy
        assert call["cold_start"] is True, call
        # the first call's cold start built nothing: no build of its own, the environment untouched
        after = http.get(f"/v1/apps/{name}/deployments/1/builds").json()["items"]
        assert sorted((b["id"], b["state"]) for b in after) == sorted((b["id"], "succeeded") for b in (built, twin))
    assert marker.stat().st_mtime_ns == built_at


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_a_requirement_pip_cannot_install_fails_the_build_and_the_deploy_with_pips_message(
    builder: Builder, tmp_path: Path
) -> None:
    name = f"unbuildable-{uuid.uuid4().hex[:6]}"
    missing = "skiff-e2e-no-such-package==0.0.1"
    app = str(write_app(tmp_path, name, missing))
    impatient = builder.skiff("deploy", app, "--build-timeout", "1")  # a venv alone takes longer
    assert impatient.returncode == 1, impatient.stdout + impatient.stderr
    assert "still building after 1 s (the limit; --build-timeout in the CLI): version (" in impatient.stderr
    assert f"deployed app {name} version 1 (current)" in impatient.stdout

    deployed = builder.skiff("deploy", app)  # the same code: the same version, whose build goes on
    assert deployed.returncode == 1, deployed.stdout + deployed.stderr
    assert f"deployed app {name} version 1 (current)" in deployed.stdout  # the version exists all the same
    progress = deployed.stdout.split("deployed app")[0].strip()
    # a line for the one function with requirements: `plain` needs no build
    assert re.fullmatch(r"✗ version failed after \d+ s on builder", progress), progress
    assert "error: the environment of 'version' failed to build on builder:" in deployed.stderr
    assert "No matching distribution found for skiff-e2e-no-such-package" in deployed.stderr, deployed.stderr
    with builder.http() as http:
        listed: dict[str, Any] = http.get(f"/v1/apps/{name}/deployments/1/builds").json()
    (failed,) = listed["items"]
    assert (failed["state"], failed["succeeded"], failed["node"]) == ("failed", False, "builder")
    assert "No matching distribution found for skiff-e2e-no-such-package" in failed["log"]


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_a_deploy_whose_build_fails_leaves_the_app_on_the_version_before(builder: Builder, tmp_path: Path) -> None:
    name = f"guarded-{uuid.uuid4().hex[:6]}"
    working = tmp_path / "working.py"
    working.write_text(
        textwrap.dedent(f"""
            import skiff

            app = skiff.App("{name}")


            @app.function()
            def plain() -> int:
                return 1
        """)
    )
    assert builder.skiff("deploy", str(working)).returncode == 0

    broken = str(write_app(tmp_path, name, "skiff-e2e-no-such-package==0.0.2"))
    failed = builder.skiff("deploy", broken)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"app '{name}' is back on version 1; version 2 stays deployed" in failed.stderr, failed.stderr
    assert f"deployed app {name} version 2\n" in failed.stdout  # not "(current)"
    with builder.http() as http:
        assert http.get(f"/v1/apps/{name}").json()["current_version"] == 1
        call = http.post(f"/v1/apps/{name}/functions/plain/calls", json={}, headers={"Prefer": "wait=30"}).json()
        assert call["status"] == "succeeded" and call["version"] == 1

    kept = builder.skiff("deploy", broken, "--keep-failed", "--json")
    assert kept.returncode == 1 and "rolled_back_to" not in json.loads(kept.stdout), kept.stdout
    with builder.http() as http:
        assert http.get(f"/v1/apps/{name}").json()["current_version"] == 2
