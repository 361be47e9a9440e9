"""Faults from the test plan with real processes: poison calls (T13), an agent killed mid-call (T1),
a daemon that tries to outlive its agent (T2), a partition longer than the lease (T4) and short ones
(T5), an API killed during a waiting call (T9), an agent stopped with SIGTERM (T14), cancelling
a running call, and a container the agent fails to start for reasons of its own. T13 and T1 are
repeated nightly (tests/scale.py)."""

from __future__ import annotations

import concurrent.futures
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.sandbox.cgroups import cgroup_dirs
from api.settings import Settings
from skiff.local.services import free_port
from tests.e2e.conftest import Cluster, Platform, Process, bootstrap_tenant, server_env, start_agent
from tests.e2e.test_core_loop import call, deploy, sandbox_processes
from tests.faults.proxy import FaultProxy, Mode
from tests.scale import SCALE

POISON = """
import ctypes, os, signal, sys, time

def ok():
    return "fine"

def sigkill():
    os.kill(os.getpid(), signal.SIGKILL)

def segfault():
    ctypes.string_at(0)

def oom():
    hog = []
    while True:
        hog.append(bytearray(16 * 1024 * 1024))

def exits():
    sys.exit(3)

def hard_exit():
    os._exit(3)

def slow(seconds):
    time.sleep(seconds)
    return os.getpid()
"""

POISON_MANIFEST = (
    "\n".join(
        f'[functions.{name}]\nhandler = "app:{name}"\nmemory = 128\n'
        for name in ("ok", "sigkill", "segfault", "oom", "exits", "hard_exit")
    )
    + '[functions.slow]\nhandler = "app:slow"\ntimeout = 60\n'
)


def wait_for_status(
    http: httpx.Client, call_id: str, status: str, timeout: float = 30, attempt: int = 1
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = http.get(f"/v1/calls/{call_id}").json()
        if body["status"] == status and body["attempt"] >= attempt:
            return body
        time.sleep(0.1)
    raise AssertionError(f"call {call_id} never reached {status} in attempt {attempt}: {body}")


@pytest.mark.parametrize(
    ("fn", "reason", "attempts"),
    [
        # a dead container is retried within the lost-attempt allowance, then fails with the reason
        ("sigkill", "killed by SIGKILL", 2),
        ("segfault", "killed by SIGSEGV", 2),
        ("oom", "out of memory (limit 128 MiB)", 2),
        ("hard_exit", "exit code 3", 2),
        # sys.exit raises SystemExit: a user error like any other, not retried without `retries`
        ("exits", "3", 1),
    ],
)
@pytest.mark.timeout(120 * SCALE)
def test_poison_calls_fail_with_the_reason_and_others_are_unaffected(
    platform: Platform, fn: str, reason: str, attempts: int
) -> None:
    with platform.http() as http:
        deploy(http, "poison", {"app.py": POISON}, POISON_MANIFEST)
        for _ in range(SCALE):
            result = call(http, "poison", fn, wait=60).json()
            assert result["status"] == "failed", result
            assert reason in result["error"]["message"], result["error"]
            assert result["attempt"] == attempts and result["max_attempts"] == 2
            healthy = call(http, "poison", "ok").json()
            assert healthy["status"] == "succeeded" and healthy["result"] == "fine"


def test_an_import_error_fails_calls_with_the_users_traceback(platform: Platform) -> None:
    source = "import json\nraise RuntimeError('config missing at import')\ndef f():\n    return 1\n"
    with platform.http() as http:
        deploy(http, "broken", {"app.py": source}, '[functions.f]\nhandler = "app:f"\n')
        result = call(http, "broken", "f").json()
        assert result["status"] == "failed", result
        assert result["error"]["type"] == "RuntimeError" and "config missing at import" in result["error"]["message"]
        assert "app.py" in (result["error"]["traceback"] or "")


def test_cancelling_a_running_call_kills_it(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "poison", {"app.py": POISON}, POISON_MANIFEST)
        call_id = http.post("/v1/apps/poison/functions/slow/calls", json={"args": [30]}).json()["id"]
        running = wait_for_status(http, call_id, "running")
        time.sleep(0.5)
        assert http.delete(f"/v1/calls/{call_id}").json()["status"] == "cancelled"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and running["container_id"] in _containers_alive(http, "poison"):
            time.sleep(0.2)
        final = http.get(f"/v1/calls/{call_id}").json()
        assert final["status"] == "cancelled" and final["result"] is None
        assert call(http, "poison", "ok").json()["status"] == "succeeded"


def _containers_alive(http: httpx.Client, app: str) -> set[str]:
    calls = http.get("/v1/calls", params={"app": app, "status": "running"}).json()["items"]
    return {c["container_id"] for c in calls} | {"x" for _ in sandbox_processes("app:slow")}


@pytest.mark.parametrize("repetition", range(SCALE))  # each with a fresh cluster
def test_an_agent_killed_mid_call_loses_nothing(cluster: Cluster, repetition: int) -> None:
    with cluster.http() as http:
        deploy(http, "t1", {"app.py": POISON}, POISON_MANIFEST)
        call_id = http.post("/v1/apps/t1/functions/slow/calls", json={"args": [3]}).json()["id"]
        first = wait_for_status(http, call_id, "running")
        victim = cluster.agent_of_node(first["node_id"])
        killed_at = time.monotonic()
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(10)
        second = wait_for_status(http, call_id, "running", timeout=30, attempt=2)
        assert second["attempt"] == 2 and second["node_id"] != first["node_id"]
        rerun_after = time.monotonic() - killed_at
        final = http.get(f"/v1/calls/{call_id}/result", params={"wait": 30}).json()
        assert final["status"] == "succeeded" and final["attempt"] == 2
        # lease 4 s, heartbeat timeout 4 s (tests/e2e/conftest.py): rerun within TTL + a few ticks
        assert rerun_after < 4 + 6, rerun_after


def test_an_agent_restarted_after_a_kill_removes_the_cgroups_its_containers_left(
    cluster: Cluster, settings: Settings, open_tmp: Path
) -> None:
    """A killed agent's sandboxes die with it, but not their cgroups: the next agent with its state
    removes them."""
    with cluster.http() as http:
        deploy(http, "left", {"app.py": POISON}, POISON_MANIFEST)
        call_id = http.post("/v1/apps/left/functions/slow/calls", json={"args": [3]}).json()["id"]
        running = wait_for_status(http, call_id, "running")
        name = http.get(f"/v1/nodes/{running['node_id']}").json()["name"]
        left = cgroup_dirs(running["container_id"])
        assert left and all(d.is_dir() for d in left)
        cluster.agents[name].popen.send_signal(signal.SIGKILL)
        cluster.agents[name].popen.wait(10)
        assert all(d.is_dir() for d in left)  # its processes died with the agent; nothing removed the cgroup
        token = http.post("/v1/tokens", json={"name": "again", "kind": "node"}).json()["token"]
        cluster.agents[name] = start_agent(cluster.url, token, settings, open_tmp / name, name)
        deadline = time.monotonic() + 30
        while any(d.exists() for d in left):
            assert time.monotonic() < deadline, cluster.agents[name].output()[-3000:]
            time.sleep(0.1)
        assert http.get(f"/v1/calls/{call_id}/result", params={"wait": 30}).json()["status"] == "succeeded"


def test_sigterm_drains_an_agent_without_failing_its_call(cluster: Cluster) -> None:
    with cluster.http() as http:
        deploy(http, "t14", {"app.py": POISON}, POISON_MANIFEST)
        call_id = http.post("/v1/apps/t14/functions/slow/calls", json={"args": [2]}).json()["id"]
        running = wait_for_status(http, call_id, "running")
        agent = cluster.agent_of_node(running["node_id"])
        agent.popen.send_signal(signal.SIGTERM)
        final = http.get(f"/v1/calls/{call_id}/result", params={"wait": 30}).json()
        assert final["status"] == "succeeded" and final["attempt"] == 1, final
        assert agent.popen.wait(30) == 0, agent.output()[-2000:]
        node = http.get(f"/v1/nodes/{running['node_id']}").json()
        assert node["state"] == "draining"
        after = call(http, "t14", "ok").json()  # the other node takes new work
        assert after["status"] == "succeeded" and after["node_id"] != running["node_id"]


def test_an_api_killed_during_a_waiting_call_loses_nothing(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    """T9: the client's connection dies with its API process; the call still runs once, and its
    result is there for whoever asks another API process."""
    port = free_port()
    second = Process(
        [sys.executable, "-m", "api", "serve"], server_env(settings, SKIFF_PORT=str(port)), tmp_path / "api-2.log"
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}")
        with platform.http() as http:
            deploy(http, "poison", {"app.py": POISON}, POISON_MANIFEST)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=platform.tenant.headers, timeout=30) as doomed:
            waiting = concurrent.futures.ThreadPoolExecutor(1).submit(
                doomed.post, "/v1/apps/poison/functions/slow/calls", json={"args": [2]}, headers={"Prefer": "wait=30"}
            )
            time.sleep(0.5)
            second.popen.send_signal(signal.SIGKILL)
            with pytest.raises(httpx.TransportError):
                waiting.result(10)
        with platform.http() as http:
            calls = http.get("/v1/calls", params={"app": "poison", "function": "slow"}).json()["items"]
            newest = calls[0]["id"]
            final = http.get(f"/v1/calls/{newest}/result", params={"wait": 30}).json()
            assert final["status"] == "succeeded" and final["attempt"] == 1, final
    finally:
        second.stop()


def wait_until_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


def runtime_descendants(root_pid: int) -> list[int]:
    """Processes under `root_pid` that run the container runtime (sandboxes and zygotes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                if b"skiff_runtime" in (Path("/proc") / str(child) / "cmdline").read_bytes():
                    found.append(child)
            except OSError:
                continue
    return found


def test_a_partitioned_agent_kills_its_sandbox_and_another_runs_the_call(
    platform: Platform, settings: Settings, open_tmp: Path
) -> None:
    """T4: the agent behind a blackholed link stops renewing its lease; another node runs the call
    once, the partitioned agent kills its sandbox on its own, and rejoins cleanly when healed."""
    tenant = bootstrap_tenant(settings, "t4")
    token = httpx.post(f"{platform.url}/v1/tokens", json={"name": "n", "kind": "node"}, headers=tenant.headers)
    node_token = token.json()["token"]
    api_port = int(platform.url.rsplit(":", 1)[1])
    with FaultProxy(api_port) as proxy, httpx.Client(base_url=platform.url, headers=tenant.headers, timeout=70) as http:
        behind = start_agent(f"http://127.0.0.1:{proxy.port}", node_token, settings, open_tmp / "behind", "behind")
        direct: Process | None = None
        try:
            wait_for_nodes(http, 1)
            deploy(http, "t4", {"app.py": POISON}, POISON_MANIFEST)
            # long enough that only a kill, not its own end, can clear the partitioned sandbox in time
            call_id = http.post("/v1/apps/t4/functions/slow/calls", json={"args": [20]}).json()["id"]
            first = wait_for_status(http, call_id, "running")
            assert runtime_descendants(behind.pid)
            direct = start_agent(platform.url, node_token, settings, open_tmp / "direct", "direct")
            proxy.set(Mode.BLACKHOLE)
            second = wait_for_status(http, call_id, "running", timeout=30, attempt=2)
            assert second["node_id"] != first["node_id"]
            deadline = time.monotonic() + 12  # lease 4 s, zygote idle 3 s: then nothing of it is left
            while runtime_descendants(behind.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert runtime_descendants(behind.pid) == [], "the partitioned agent kept its sandbox running"
            proxy.set(Mode.PASS)
            final = http.get(f"/v1/calls/{call_id}/result", params={"wait": 40}).json()
            assert final["status"] == "succeeded" and final["attempt"] == 2
            wait_for_nodes(http, 2)  # the partitioned node is back, ready for work
        finally:
            behind.stop(30)
            if direct is not None:
                direct.stop(30)


def wait_for_nodes(http: httpx.Client, ready: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len([n for n in http.get("/v1/nodes").json()["items"] if n["state"] == "ready"]) < ready:
        assert time.monotonic() < deadline, http.get("/v1/nodes").json()
        time.sleep(0.2)


DAEMON = """
import os, sys, time

def spawn(marker):
    # the classic escape: fork, start a session of its own, fork again, let the middle one go
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(3600)", marker])
        os._exit(0)
    os.wait()
    time.sleep(60)
"""


def processes_with(marker: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def test_a_daemon_started_by_a_function_dies_with_its_agent(cluster: Cluster) -> None:
    """T2: a setsid, double-forked daemon does not outlive the agent that ran its function."""
    marker = f"t2-daemon-{time.monotonic_ns()}"
    with cluster.http() as http:
        deploy(http, "t2", {"app.py": DAEMON}, '[functions.spawn]\nhandler = "app:spawn"\ntimeout = 120\n')
        call_id = http.post("/v1/apps/t2/functions/spawn/calls", json={"args": [marker]}).json()["id"]
        running = wait_for_status(http, call_id, "running")
        deadline = time.monotonic() + 30
        while not (daemons := processes_with(marker)):
            assert time.monotonic() < deadline, "the function's daemon never started"
            time.sleep(0.1)
        victim = cluster.agent_of_node(running["node_id"])
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(10)
        deadline = time.monotonic() + 10
        while (left := daemons & processes_with(marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == set(), f"the daemon outlived its agent: {left}"
        assert http.delete(f"/v1/calls/{call_id}").status_code in (200, 202)  # its rerun elsewhere is not wanted


def test_short_partitions_during_a_long_call_run_it_once(
    platform: Platform, settings: Settings, open_tmp: Path
) -> None:
    """T5: partitions shorter than the lease, and a reset of every connection, while a call runs:
    the call ends once, in its first attempt, on its first node."""
    tenant = bootstrap_tenant(settings, "t5")
    token = httpx.post(f"{platform.url}/v1/tokens", json={"name": "n", "kind": "node"}, headers=tenant.headers)
    api_port = int(platform.url.rsplit(":", 1)[1])
    with FaultProxy(api_port) as proxy, httpx.Client(base_url=platform.url, headers=tenant.headers, timeout=70) as http:
        behind = start_agent(f"http://127.0.0.1:{proxy.port}", token.json()["token"], settings, open_tmp / "a", "a")
        try:
            wait_for_nodes(http, 1)
            deploy(http, "t5", {"app.py": POISON}, POISON_MANIFEST)
            call_id = http.post("/v1/apps/t5/functions/slow/calls", json={"args": [8]}).json()["id"]
            first = wait_for_status(http, call_id, "running")
            for mode, seconds in [(Mode.BLACKHOLE, 1.0), (Mode.RESET, 0.3), (Mode.BLACKHOLE, 1.5)]:
                proxy.set(mode)  # lease 4 s (tests/e2e/conftest.py): each cut is well inside it
                time.sleep(seconds)
                proxy.set(Mode.PASS)
                time.sleep(0.8)
            final = http.get(f"/v1/calls/{call_id}/result", params={"wait": 40}).json()
            assert final["status"] == "succeeded", final
            assert (final["attempt"], final["node_id"]) == (1, first["node_id"]), final
            again = http.get(f"/v1/calls/{call_id}").json()
            assert again["attempt"] == 1 and again["result"] == final["result"]
        finally:
            behind.stop(30)


def test_cancelling_calls_as_they_end_answers_with_their_state(platform: Platform) -> None:
    """A cancel that races the call's own end answers with the call as it is: cancelled, or ended."""
    with platform.http() as http:
        deploy(http, "poison", {"app.py": POISON}, POISON_MANIFEST)
        call(http, "poison", "ok")  # a warm container: calls end within milliseconds of their submit
        seen = set()
        for _ in range(40):
            call_id = http.post("/v1/apps/poison/functions/ok/calls", json={}).json()["id"]
            answer = http.delete(f"/v1/calls/{call_id}")
            assert answer.status_code == 200, answer.text
            seen.add(answer.json()["status"])
            assert http.get(f"/v1/calls/{call_id}").json()["status"] == answer.json()["status"]
        assert seen <= {"cancelled", "succeeded"}, seen


def test_a_draining_agent_keeps_its_calls_leases_and_kills_a_call_cancelled_meanwhile(cluster: Cluster) -> None:
    """T14 for calls longer than the lease (4 s here): while it drains, the agent goes on polling,
    so its call is not run again elsewhere, and a call cancelled during the drain is killed."""
    with cluster.http() as http:
        deploy(http, "t14-long", {"app.py": POISON}, POISON_MANIFEST)
        long_call = http.post("/v1/apps/t14-long/functions/slow/calls", json={"args": [8]}).json()["id"]
        running = wait_for_status(http, long_call, "running")
        agent = cluster.agent_of_node(running["node_id"])
        agent.popen.send_signal(signal.SIGTERM)
        final = http.get(f"/v1/calls/{long_call}/result", params={"wait": 40}).json()
        assert (final["status"], final["attempt"], final["node_id"]) == ("succeeded", 1, running["node_id"]), final
        assert agent.popen.wait(30) == 0, agent.output()[-2000:]

        (other,) = [a for a in cluster.agents.values() if a is not agent]
        endless = http.post("/v1/apps/t14-long/functions/slow/calls", json={"args": [120]}).json()["id"]
        assert wait_for_status(http, endless, "running")["node_id"] != running["node_id"]
        other.popen.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # draining now
        assert http.delete(f"/v1/calls/{endless}").json()["status"] == "cancelled"
        stopped_at = time.monotonic()
        assert other.popen.wait(30) == 0, other.output()[-2000:]
        assert time.monotonic() - stopped_at < 20, "the cancelled call ran on through the drain"


def test_a_container_the_agent_fails_to_start_for_its_own_reasons_fails_its_calls_and_is_replaced(
    cluster: Cluster, open_tmp: Path
) -> None:
    """A fault of the node rather than the function (here a damaged bundle cache: a file where the
    unpacked bundle belongs) fails the container's start: its call is retried as a crash, then fails
    naming the agent's error, and the node reports the exit, so the next start, once the cache is
    repaired, is not blocked by a container left starting forever."""
    with cluster.http() as http:
        digest = str(deploy(http, "damaged", {"app.py": POISON}, POISON_MANIFEST)["bundle_digest"])
        for name in cluster.agents:
            (open_tmp / name / "bundles" / digest).write_text("not a bundle")
        result = call(http, "damaged", "ok", wait=60).json()
        assert result["status"] == "failed", result
        assert result["error"]["type"] == "AgentError", result["error"]
        assert "could not start the container" in result["error"]["message"], result["error"]
        assert result["attempt"] == result["max_attempts"] == 2, result

        for name in cluster.agents:
            (open_tmp / name / "bundles" / digest).unlink()
        healthy = call(http, "damaged", "ok", wait=60).json()
        assert healthy["status"] == "succeeded" and healthy["result"] == "fine", healthy["error"]
