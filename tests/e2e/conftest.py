"""Real Skiff processes (API, scheduler, agents) against the session's Postgres and Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from agent.leftovers import remove_leftovers, zygote_prefix
from agent.sandbox import users
from agent.sandbox.cgroups import container_parents
from api.calls.store import dsn_of
from api.settings import Settings
from skiff.local.services import free_port
from tests.conftest import Tenant
from tests.faults.leftovers import cgroups_named

ROOT = Path(__file__).resolve().parent.parent.parent


class Process:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        return self.popen.returncode


# Short leases and heartbeats so that fault tests see recovery in seconds, not minutes.
FAST_FAILURE_DETECTION = {
    "SKIFF_NODE_HEARTBEAT_INTERVAL_SECONDS": "0.5",
    "SKIFF_NODE_HEARTBEAT_TIMEOUT_SECONDS": "4",
    "SKIFF_LEASE_SECONDS": "4",
    "SKIFF_SCHEDULER_LEASE_SECONDS": "3",
    "SKIFF_LOST_ATTEMPT_RETRIES": "1",
    "SKIFF_ZYGOTE_IDLE_SECONDS": "3",
}


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **FAST_FAILURE_DETECTION,
        "SKIFF_DATABASE_URL": settings.database_url,
        "SKIFF_REDIS_URL": settings.redis_url,
        "SKIFF_BLOB_URL": settings.blob_url,
        "SKIFF_SECRET_KEYS": settings.secret_keys,
        "PYTHONUNBUFFERED": "1",
        # Strict: an agent whose sandboxes cannot run as unprivileged users exits, rather than falling back.
        "SKIFF_AGENT_SANDBOX_UIDS": users.DEFAULT_RANGE if os.geteuid() == 0 else users.AUTO,
        **extra,
    }


@pytest.fixture(scope="session")
def api_server(settings: Settings, state_dir: Path) -> Iterator[str]:
    port = free_port()
    env = server_env(settings, SKIFF_PORT=str(port))
    process = Process([sys.executable, "-m", "api", "serve"], env, state_dir / "api.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.stop()
        pytest.fail(f"API did not become ready:\n{process.output()[-3000:]}")
    yield url
    # uvicorn re-raises SIGTERM after a graceful shutdown, so the exit status is -SIGTERM
    assert process.stop() in (0, -signal.SIGTERM), process.output()[-3000:]
    assert "Application shutdown complete" in process.output()


@dataclass
class Platform:
    """A running control plane with one agent, and the workspace that owns the agent's node."""

    url: str
    tenant: Tenant
    agent: Agent
    scheduler: Process
    state_dir: Path

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.tenant.headers, timeout=70)


class Agent(Process):
    """An agent. Stopping one that was killed removes what its zygotes and containers left (their
    cgroups), as the next agent with its state would at its start."""

    def __init__(self, argv: list[str], env: dict[str, str], state: Path) -> None:
        super().__init__(argv, env, state.with_suffix(".log"))
        self.state = state

    def stop(self, timeout: float = 15.0) -> int:
        code = super().stop(timeout)
        if code == -signal.SIGKILL:
            remove_leftovers(self.state.resolve())
        return code


def start_agent(url: str, node_token: str, settings: Settings, state: Path, name: str, **env: str) -> Agent:
    return Agent(
        [sys.executable, "-m", "agent", "--api", url, "--token", node_token, "--name", name, "--state-dir", str(state)],
        server_env(settings, SKIFF_LOG_LEVEL="INFO", **env),
        state,
    )


@pytest.fixture(scope="session")
def platform(api_server: str, settings: Settings, platform_tenant: Tenant, state_dir: Path) -> Iterator[Platform]:
    scheduler = Process([sys.executable, "-m", "scheduler"], server_env(settings), state_dir / "scheduler.log")
    node_token = httpx.post(
        f"{api_server}/v1/tokens", json={"name": "agent", "kind": "node"}, headers=platform_tenant.headers
    ).json()["token"]
    agent = start_agent(api_server, node_token, settings, state_dir / "agent-1", "node-1")
    platform = Platform(api_server, platform_tenant, agent, scheduler, state_dir)
    deadline = time.monotonic() + 30
    with platform.http() as http:
        while not http.get("/v1/nodes").json()["items"]:
            if time.monotonic() > deadline:
                pytest.fail(f"the agent did not register:\n{agent.output()[-3000:]}")
            time.sleep(0.1)
    yield platform
    platform.agent.stop(30)
    platform.scheduler.stop()  # a test may have put another in its place
    assert cgroups_left(settings, platform_tenant, [platform.agent]) == []


@pytest.fixture(scope="session")
def platform_tenant(api_server: str, settings: Settings) -> Tenant:
    """A workspace for the session's platform, made through the API's own bootstrap command."""
    return bootstrap_tenant(settings, "e2e")


def bootstrap_tenant(settings: Settings, name: str) -> Tenant:
    result = subprocess.run(
        [sys.executable, "-m", "api", "bootstrap", "--workspace", f"{name}-{os.urandom(4).hex()}"],
        cwd=ROOT,
        env=server_env(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    created = json.loads(result.stdout)
    return Tenant(workspace_id=created["workspace_id"], name=created["workspace"], token=created["token"])


@dataclass
class Cluster:
    """A workspace of its own with several agents, for tests that kill or stop agents."""

    url: str
    tenant: Tenant
    agents: dict[str, Agent]  # by node name

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.tenant.headers, timeout=70)

    def agent_of_node(self, node_id: str) -> Process:
        with self.http() as http:
            name = http.get(f"/v1/nodes/{node_id}").json()["name"]
        return self.agents[name]


@pytest.fixture
def cluster(platform: Platform, settings: Settings, open_tmp: Path) -> Iterator[Cluster]:
    tenant = bootstrap_tenant(settings, "cluster")
    node_token = httpx.post(
        f"{platform.url}/v1/tokens", json={"name": "agents", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    agents = {name: start_agent(platform.url, node_token, settings, open_tmp / name, name) for name in ("a", "b")}
    cluster = Cluster(platform.url, tenant, agents)
    deadline = time.monotonic() + 30
    with cluster.http() as http:
        while len([n for n in http.get("/v1/nodes").json()["items"] if n["state"] == "ready"]) < len(agents):
            if time.monotonic() > deadline:
                pytest.fail("the cluster's agents did not register")
            time.sleep(0.1)
    yield cluster
    for agent in agents.values():
        agent.stop(30)
    assert cgroups_left(settings, tenant, list(agents.values())) == []


def cgroups_left(settings: Settings, tenant: Tenant, agents: list[Agent]) -> list[Path]:
    """The cgroups of the workspace's containers and of these agents' zygotes still there once the agents
    have stopped (or were killed and swept after), under the cgroup they were started in: this process's."""
    query = "SELECT id FROM containers WHERE workspace_id = $1"
    ids = {row["id"] for row in fetch(settings, query, tenant.workspace_id)}
    parents = container_parents(os.getpid())
    return [path for agent in agents for path in cgroups_named(parents, ids, zygote_prefix(agent.state.resolve()))]


async def _fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn_of(database_url))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def fetch(settings: Settings, query: str, *args: object) -> list[asyncpg.Record]:
    """Rows straight from the platform's database, for what the API does not show."""
    return asyncio.run(_fetch(settings.database_url, query, *args))


def reported_warm(settings: Settings, container_id: str) -> bool:
    """Whether the container's node reports its function's zygote warm."""
    query = "SELECT n.warm_functions ? c.function_id FROM containers c JOIN nodes n ON n.id = c.node_id WHERE c.id = $1"
    return bool(fetch(settings, query, container_id)[0][0])


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    """Whether `condition` came true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True
