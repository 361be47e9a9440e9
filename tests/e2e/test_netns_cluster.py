"""Three agents as three hosts, each in a network namespace of its own that reaches the API over its
own link (tests/faults/netns.py): calls spread over them; a host whose agent is SIGKILLed loses its
calls to the others, is marked down with its containers forgotten, and rejoins when its agent comes
back; a host cut off for longer than a lease kills its own sandbox while another runs the call, and
its late outcome is refused once the cut heals."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from skiff.local.services import free_port
from tests.conftest import Tenant
from tests.e2e.conftest import ROOT, Platform, Process, bootstrap_tenant, fetch, server_env
from tests.e2e.test_core_loop import deploy
from tests.e2e.test_faults import runtime_descendants, wait_for_status
from tests.faults.netns import Host, NetnsError, Network

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

HOSTS = ("a", "b", "c")
SOURCE = """
import os, time

def slow(seconds):
    print("start", flush=True)
    time.sleep(seconds)
    print("end", flush=True)
    return os.getpid()
"""


def manifest(cpu: float) -> str:
    # A container asks for all of a node's CPUs: one container per node, so three spread over three.
    return f'[functions.slow]\nhandler = "app:slow"\ntimeout = 120\nmax_containers = 3\ncpu = {cpu}\nmemory = 128\n'


@pytest.fixture(scope="module")
def exposed_api(platform: Platform, settings: Settings, state_dir: Path) -> Iterator[int]:
    """An API process listening on every address, so that each host reaches it at the root side of
    its own link; the platform's scheduler serves it (the same Postgres and Redis). Its port."""
    port = free_port()
    env = server_env(settings, SKIFF_HOST="0.0.0.0", SKIFF_PORT=str(port))
    api = Process([sys.executable, "-m", "api", "serve"], env, state_dir / "api-netns.log")
    try:
        deadline = time.monotonic() + 30
        while not _ready(f"http://127.0.0.1:{port}"):
            if time.monotonic() > deadline or api.popen.poll() is not None:
                pytest.fail(f"the API for the namespaced hosts did not become ready:\n{api.output()[-3000:]}")
            time.sleep(0.1)
        yield port
    finally:
        api.stop()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class NetnsCluster:
    """A workspace whose three nodes are agents on three hosts of one network."""

    port: int
    tenant: Tenant
    node_token: str
    settings: Settings
    state: Path
    network: Network
    agents: dict[str, subprocess.Popen[bytes]]  # by host name, which is also the node's name

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers=self.tenant.headers, timeout=70)

    def host(self, name: str) -> Host:
        return self.network.hosts[name]

    def start_agent(self, name: str) -> subprocess.Popen[bytes]:
        """The agent of host `name`, with the same node name and state directory every time."""
        host = self.host(name)
        argv = [sys.executable, "-m", "agent", "--api", f"http://{host.gateway}:{self.port}"]
        argv += ["--token", self.node_token, "--name", name, "--state-dir", str(self.state / name)]
        env = server_env(self.settings, SKIFF_LOG_LEVEL="INFO")
        self.agents[name] = host.run(argv, env, self.log(name), cwd=ROOT)
        return self.agents[name]

    def log(self, name: str) -> Path:
        return self.state / f"{name}.log"

    def logs(self) -> str:
        return "\n".join(f"--- {n}:\n{self.log(n).read_text(errors='replace')[-3000:]}" for n in self.agents)

    def nodes(self, http: httpx.Client) -> dict[str, dict[str, Any]]:
        return {n["name"]: n for n in http.get("/v1/nodes").json()["items"]}

    def wait_for_node(self, http: httpx.Client, name: str, state: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (node := self.nodes(http).get(name)) is None or node["state"] != state:
            assert time.monotonic() < deadline, f"node {name} never became {state}: {node}\n{self.logs()}"
            time.sleep(0.2)
        return node

    def name_of(self, http: httpx.Client, node_id: str) -> str:
        return str(http.get(f"/v1/nodes/{node_id}").json()["name"])


@pytest.fixture
def netns_cluster(exposed_api: int, settings: Settings, open_tmp: Path) -> Iterator[NetnsCluster]:
    tenant = bootstrap_tenant(settings, "netns")
    token = httpx.post(
        f"http://127.0.0.1:{exposed_api}/v1/tokens", json={"name": "hosts", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    network = Network()
    try:
        network.open()
        for name in HOSTS:
            network.add_host(name)
    except NetnsError as exc:  # not a skip: CI runs as root, and these faults must be tested there
        with contextlib.suppress(NetnsError):
            network.close()
        pytest.fail(f"cannot make network namespaces on this machine: {exc}")
    cluster = NetnsCluster(exposed_api, tenant, token, settings, open_tmp, network, {})
    try:
        for name in HOSTS:
            cluster.start_agent(name)
        with cluster.http() as http:
            for name in HOSTS:
                cluster.wait_for_node(http, name, "ready")
        yield cluster
    finally:
        for host in network.hosts.values():
            if host.partitioned:
                with contextlib.suppress(NetnsError):
                    host.heal()  # so that its agent can drain
        for agent in cluster.agents.values():
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for agent in cluster.agents.values():
            try:
                agent.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                agent.kill()
        network.close()  # kills whatever is left in the hosts, and removes them


def submit(http: httpx.Client, seconds: float) -> str:
    response = http.post("/v1/apps/hosts/functions/slow/calls", json={"args": [seconds]})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def deploy_slow(http: httpx.Client, cluster: NetnsCluster) -> None:
    cpu = min(float(n["cpus"]) for n in cluster.nodes(http).values())
    deploy(http, "hosts", {"app.py": SOURCE}, manifest(min(cpu, 64.0)))


def run_on_every_host(http: httpx.Client, cluster: NetnsCluster) -> set[str]:
    """Three long calls at once; the names of the nodes they run on once all three run. Then they
    are cancelled, and their sandboxes killed on every host."""
    calls = [submit(http, 90) for _ in HOSTS]
    try:
        running = [wait_for_status(http, call_id, "running", timeout=90) for call_id in calls]
        names = {cluster.name_of(http, body["node_id"]) for body in running}
    finally:
        for call_id in calls:
            assert http.delete(f"/v1/calls/{call_id}").status_code in (200, 202)
    deadline = time.monotonic() + 30  # the next poll tells each agent; its zygote idles out in 3 s
    while left := {n: runtime_descendants(a.pid) for n, a in cluster.agents.items() if runtime_descendants(a.pid)}:
        assert time.monotonic() < deadline, f"cancelled calls still run: {left}\n{cluster.logs()}"
        time.sleep(0.2)
    return names


def test_calls_spread_over_the_three_hosts(netns_cluster: NetnsCluster) -> None:
    with netns_cluster.http() as http:
        deploy_slow(http, netns_cluster)
        assert run_on_every_host(http, netns_cluster) == set(HOSTS), netns_cluster.logs()


def test_a_killed_host_loses_its_calls_to_the_others_and_rejoins(netns_cluster: NetnsCluster) -> None:
    cluster = netns_cluster
    with cluster.http() as http:
        deploy_slow(http, cluster)
        call_id = submit(http, 6)
        first = wait_for_status(http, call_id, "running", timeout=60)
        victim = cluster.name_of(http, first["node_id"])
        agent = cluster.agents[victim]
        agent.send_signal(signal.SIGKILL)
        assert agent.wait(10) == -signal.SIGKILL

        second = wait_for_status(http, call_id, "running", timeout=30, attempt=2)
        assert second["node_id"] != first["node_id"]
        # heartbeat timeout 4 s (tests/e2e/conftest.py): down within that and a few scheduler ticks
        down = cluster.wait_for_node(http, victim, "down", timeout=20)
        containers = fetch(cluster.settings, "SELECT state, exit_reason FROM containers WHERE node_id = $1", down["id"])
        assert containers and all(c["state"] == "exited" for c in containers), containers
        assert "node lost" in {c["exit_reason"] for c in containers}, containers
        final = http.get(f"/v1/calls/{call_id}/result", params={"wait": 60}).json()
        assert final["status"] == "succeeded" and final["attempt"] == 2, final
        assert final["node_id"] == second["node_id"]

        cluster.start_agent(victim)  # the same host, name and state directory: the machine rebooted
        back = cluster.wait_for_node(http, victim, "ready")
        assert back["id"] == down["id"] and back["epoch"] > down["epoch"]
        assert victim in run_on_every_host(http, cluster), cluster.logs()


def test_a_partitioned_host_kills_its_sandbox_and_its_late_outcome_is_refused(netns_cluster: NetnsCluster) -> None:
    """T4 with hosts: the cut is longer than the lease and the call; nothing of the first attempt runs
    to its end, and the first attempt's outcome, late, is refused while and after the second runs."""
    cluster = netns_cluster
    seconds = 30  # longer than the first attempt can live: cold start + lease + zygote idle, loaded
    with cluster.http() as http:
        deploy_slow(http, cluster)
        submitted = time.monotonic()
        call_id = submit(http, seconds)
        first = wait_for_status(http, call_id, "running", timeout=60)
        cut = cluster.name_of(http, first["node_id"])
        agent = cluster.agents[cut]
        assert runtime_descendants(agent.pid), "the call runs, but not in a sandbox of its host's agent"
        [(first_token,)] = fetch(cluster.settings, "SELECT lease_token FROM calls WHERE id = $1", call_id)

        host = cluster.host(cut)
        host.partition()
        second = wait_for_status(http, call_id, "running", timeout=40, attempt=2)
        assert second["node_id"] != first["node_id"]
        cluster.wait_for_node(http, cut, "down", timeout=20)
        deadline = time.monotonic() + 20  # lease 4 s, then zygote idle 3 s: then nothing of it is left
        while runtime_descendants(agent.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert runtime_descendants(agent.pid) == [], "the partitioned agent kept its sandbox running"
        assert time.monotonic() - submitted < seconds, "the first attempt may have run to its end"
        assert agent.poll() is None and host.partitioned, "the agent must live through the cut, still cut off"
        assert "lease lost: killing the container" in cluster.log(cut).read_text()

        host.heal()
        late = {"call_id": call_id, "lease_token": first_token, "outcome": "succeeded", "result": '"late"'}
        node_headers = {"Authorization": f"Bearer {cluster.node_token}"}
        refused = http.post("/v1/agent/outcomes", json={"outcomes": [late]}, headers=node_headers)
        assert refused.status_code == 409 and "no longer holds its lease" in refused.json()["detail"], refused.text

        final = http.get(f"/v1/calls/{call_id}/result", params={"wait": 60}).json()
        assert final["status"] == "succeeded" and final["attempt"] == 2, final
        assert final["node_id"] == second["node_id"] and final["result"] != "late"
        cluster.wait_for_node(http, cut, "ready")
        again = http.post("/v1/agent/outcomes", json={"outcomes": [late]}, headers=node_headers)
        assert again.status_code == 409 and f"call {call_id} already ended" in again.json()["detail"], again.text
        settled = http.get(f"/v1/calls/{call_id}").json()
        assert (settled["status"], settled["attempt"], settled["result"]) == ("succeeded", 2, final["result"])
        lines = http.get(f"/v1/calls/{call_id}/logs").json()["items"]
        ends = [line["attempt"] for line in lines if line["line"] == "end"]
        assert ends == [2], lines  # only the second attempt ran to its end
