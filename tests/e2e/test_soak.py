"""L5, the soak: a steady mix of traffic for a while (45 s in CI, half an hour nightly: tests/scale.py)
against an API process and an agent of its own (and the session's scheduler): sync calls, spawns,
maps, calls that fail, calls that time out, and calls that start cold after their function scaled
to zero. Then:

- memory: the resident memory of the API, the leading scheduler, the agent and Redis grows, from
  after the warm-up to the end, by no more than a fixed slack plus a bound per 1,000 calls;
- leftovers: once everything has scaled to zero, no sandbox process of the soak's functions, no
  cgroup of its containers or zygotes, nothing new in the agent's state or temp directories;
- history: every acknowledged call ended once, as its kind must (an echo with its own key, a
  failure with the user's error, a nap timed out, a wake-up cold), in its first attempt, with no
  error status answered to any client.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.leftovers import zygote_prefix as zygote_prefix_of
from agent.sandbox.cgroups import container_parents
from api.settings import Settings
from skiff.local.services import RedisServer, free_port
from tests.e2e.conftest import Platform, Process, bootstrap_tenant, fetch, server_env, wait_until
from tests.e2e.test_chaos import leader_pid
from tests.e2e.test_core_loop import deploy, sandbox_processes
from tests.e2e.test_faults import runtime_descendants, wait_until_ready
from tests.faults.history import History, all_calls, settle
from tests.faults.leftovers import (
    cgroups_named,
    entries,
    paths_naming,
)
from tests.faults.memory import Growth, MemorySampler
from tests.scale import soak_seconds

SOURCE = """
import time

def echo(key):
    return key

def fail(key):
    raise ValueError(f"refused {key}")

def nap(key):
    time.sleep(60)
    return key

def wake(key):
    return key
"""
MARKER = "soak:"  # in the command line of every sandbox and zygote of these functions: their handlers
MANIFEST = "\n".join(
    f'[functions.{name}]\nhandler = "soak:{name}"\nscaledown_window = 2\nmemory = 128\n{extra}'
    for name, extra in [("echo", "max_containers = 2\n"), ("fail", ""), ("nap", "timeout = 1\n"), ("wake", "")]
)
# Each kind of operation: the function it calls, and how long it waits for the end (0: a spawn).
OPERATIONS = {
    "sync": ("echo", 10),
    "spawn": ("echo", 0),
    "fail": ("fail", 10),
    "nap": ("nap", 10),
    "wake": ("wake", 30),
}
STEADY_CLIENTS = 3
STEADY_CYCLE = ("sync", "spawn", "sync", "spawn", "sync", "fail")
MAP_INPUTS = 25
# Memory may grow by this much whatever the work: freed memory the allocator keeps, buffers and caches
# still filling up to their bounds. Over CI's soak each process grew by 1.1 MiB at most (the API,
# still warming up); over a 6-minute one the API was flat after 3 minutes.
RSS_SLACK_MIB = 6.0
# And by this much per 1,000 calls (0.5 KiB a call): five times the steepest steady growth measured
# (the scheduler, 0.1 MiB per 1,000 calls over 6 minutes; bench/RESULTS.md: under 0.05 over 20,000
# warm calls). Keeping a request's state, a call's ORM object or result, or a log record per call
# costs more than that, and fails the soak once enough calls have run (nightly, tens of thousands).
RSS_PER_1000_CALLS_MIB = 0.5
# Scale to zero: a 2 s window, a scheduler tick, the container's stop, then its zygote's 3 s idle.
SCALE_TO_ZERO_S = 30.0


@dataclass
class SoakStack:
    url: str
    headers: dict[str, str]
    api: Process
    agent: Process
    agent_state: Path
    agent_tmp: Path
    node_id: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=70)


@pytest.fixture
def soak_stack(platform: Platform, settings: Settings, open_tmp: Path) -> Iterator[SoakStack]:
    tenant = bootstrap_tenant(settings, "soak")
    port = free_port()
    api = Process(
        [sys.executable, "-m", "api", "serve"], server_env(settings, SKIFF_PORT=str(port)), open_tmp / "api.log"
    )
    agent: Process | None = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url)
        token = httpx.post(f"{url}/v1/tokens", json={"name": "soak", "kind": "node"}, headers=tenant.headers)
        state, tmp = open_tmp / "agent", open_tmp / "agent-tmp"
        tmp.mkdir()
        argv = ["--api", url, "--token", token.json()["token"], "--name", "soak", "--state-dir", str(state)]
        agent = Process(
            [sys.executable, "-m", "agent", *argv],
            server_env(settings, SKIFF_LOG_LEVEL="INFO", TMPDIR=str(tmp)),
            open_tmp / "agent.log",
        )
        with httpx.Client(base_url=url, headers=tenant.headers, timeout=30) as http:
            deadline = time.monotonic() + 30
            while not (nodes := [n for n in http.get("/v1/nodes").json()["items"] if n["state"] == "ready"]):
                assert time.monotonic() < deadline, f"the soak's agent did not register:\n{agent.output()[-3000:]}"
                time.sleep(0.2)
        yield SoakStack(url, tenant.headers, api, agent, state, tmp, nodes[0]["id"])
    finally:
        if agent is not None:
            agent.stop(30)
        api.stop()


def submit(http: httpx.Client, history: History, kind: str, key: str) -> None:
    """One operation of the mix; `kind` says what is asked and what must become of it."""
    function, wait = OPERATIONS[kind]
    headers = {"Idempotency-Key": key, **({"Prefer": f"wait={wait}"} if wait else {})}
    try:
        answer: httpx.Response | None = http.post(
            f"/v1/apps/soak/functions/{function}/calls", json={"args": [key]}, headers=headers
        )
    except httpx.TransportError:
        answer = None
    history.record(key, answer)


def submit_map(http: httpx.Client, history: History, key: str) -> None:
    keys = [f"{key}-{i}" for i in range(MAP_INPUTS)]
    try:
        answer: httpx.Response | None = http.post(
            "/v1/apps/soak/functions/echo/map", json={"inputs": [{"args": [k]} for k in keys]}
        )
    except httpx.TransportError:
        answer = None
    history.record_map(keys, answer)


def steady_lane(stack: SoakStack, history: History, stop: threading.Event, lane: int) -> None:
    """Calls one after another: sync echoes, spawned echoes, now and then one that fails."""
    with stack.http() as http:
        for i in itertools.count():
            if stop.is_set():
                return
            kind = STEADY_CYCLE[i % len(STEADY_CYCLE)]
            submit(http, history, kind, f"{kind}-{lane}-{i}")


def batch_lane(stack: SoakStack, history: History, stop: threading.Event) -> None:
    """A map, then a call that outlives its timeout (its container is killed), and a pause."""
    with stack.http() as http:
        for i in itertools.count():
            submit_map(http, history, f"map-{i}")
            submit(http, history, "nap", f"nap-{i}")
            if stop.wait(1.0):
                return


def cold_lane(stack: SoakStack, history: History, stop: threading.Event) -> None:
    """Waits until `wake` has scaled to zero (no sandbox or zygote of it left), then calls it."""
    with stack.http() as http:
        for i in itertools.count():
            deadline = time.monotonic() + SCALE_TO_ZERO_S
            while sandbox_processes(f"{MARKER}wake"):
                if time.monotonic() > deadline:
                    with history.lock:
                        history.unexpected.append(f"wake did not scale to zero within {SCALE_TO_ZERO_S:g} s")
                    return
                if stop.wait(0.25):
                    return
            submit(http, history, "wake", f"wake-{i}")


def expected(key: str, call: dict[str, Any]) -> bool:
    """Whether a call ended as its kind (its key's first word) must."""
    kind = key.split("-", 1)[0]
    error = call["error"] or {}
    ended: bool = {
        "sync": call["status"] == "succeeded" and call["result"] == key,
        "spawn": call["status"] == "succeeded" and call["result"] == key,
        "map": call["status"] == "succeeded" and call["result"] == key,
        "fail": call["status"] == "failed"
        and error.get("type") == "ValueError"
        and f"refused {key}" in error.get("message", ""),
        "nap": call["status"] == "timed_out" and "timeout of 1 s" in error.get("message", ""),
        "wake": call["status"] == "succeeded" and call["result"] == key and call["cold_start"] is True,
    }[kind]
    return ended and int(call["attempt"]) == 1


def node_containers(settings: Settings, node_id: str) -> dict[str, str]:
    """The node's containers by id, with their states, as Postgres has them."""
    rows = fetch(settings, "SELECT id, state FROM containers WHERE node_id = $1", node_id)
    return {row["id"]: row["state"] for row in rows}


def current_leader(settings: Settings) -> int:
    """The pid of the scheduler that leads, waiting out a moment between its lease's renewals."""
    deadline = time.monotonic() + 10
    while (pid := asyncio.run(leader_pid(settings.database_url))) is None:
        assert time.monotonic() < deadline, "no scheduler leads"
        time.sleep(0.2)
    return pid


@pytest.mark.timeout(soak_seconds() + 300)
def test_a_soak_leaves_memory_flat_and_nothing_behind(
    soak_stack: SoakStack, settings: Settings, redis_server: RedisServer
) -> None:
    stack, duration = soak_stack, soak_seconds()
    warm_up, window = 0.25 * duration, max(5.0, 0.1 * duration)
    history, stop = History(), threading.Event()
    cgroup_parents = container_parents(stack.agent.pid)
    zygote_prefix = zygote_prefix_of(stack.agent_state.resolve())
    with stack.http() as http:
        deploy(http, "soak", {"soak.py": SOURCE}, MANIFEST)
        for kind in ("sync", "fail", "nap", "wake"):  # every function runs once before anything is measured
            submit(http, history, kind, f"{kind}-first")
    scheduler_pid = current_leader(settings)
    pids = {"api": stack.api.pid, "scheduler": scheduler_pid, "agent": stack.agent.pid}
    assert redis_server.pid is not None
    pids["redis"] = redis_server.pid

    lanes: list[threading.Thread] = [
        *(
            threading.Thread(target=steady_lane, args=(stack, history, stop, lane), name=f"steady-{lane}")
            for lane in range(STEADY_CLIENTS)
        ),
        threading.Thread(target=batch_lane, args=(stack, history, stop), name="batch"),
        threading.Thread(target=cold_lane, args=(stack, history, stop), name="cold"),
    ]
    with MemorySampler(pids, history.calls) as sampler:
        started = time.monotonic()
        for lane in lanes:
            lane.start()
        try:
            time.sleep(warm_up)
            warmed_up_at = time.monotonic()
            state_after_warm_up = entries(stack.agent_state, 3)
            tmp_after_warm_up = entries(stack.agent_tmp, 3)
            live = node_containers(settings, stack.node_id)
            cgroups_while_running = cgroups_named(cgroup_parents, set(live), zygote_prefix)
            time.sleep(max(0.0, started + duration - time.monotonic()))
        finally:
            stop.set()
            for lane in lanes:
                lane.join(60)
    assert all(not lane.is_alive() for lane in lanes), "a client lane is stuck"
    assert sampler.errors == [], sampler.errors
    assert scheduler_pid == current_leader(settings), "scheduler leadership moved during the soak"

    # (c) The history: every acknowledged call ended once, as its kind must, in its first attempt.
    assert history.unexpected == [] and history.transport_errors == 0, (history.unexpected, history.statuses)
    assert set(history.statuses) <= {200, 202}, history.statuses
    assert history.sent == set(history.acknowledged), "a call was asked for but never acknowledged"
    with stack.http() as http:
        final = settle(http, list(history.acknowledged.values()), timeout=120)
        listed = all_calls(http, "soak")
    wrong = {key: final[call_id] for key, call_id in history.acknowledged.items() if not expected(key, final[call_id])}
    assert wrong == {}, list(wrong.items())[:5]
    assert len(listed) == len(history.acknowledged), "a call is visible twice, or one nobody asked for"
    kinds = {key.split("-", 1)[0] for key in history.acknowledged}
    assert kinds == {"sync", "spawn", "map", "fail", "nap", "wake"}, kinds
    assert sum(key.startswith("wake-") for key in history.acknowledged) >= 3, "too few cold starts to judge"

    # (a) Memory: flat from after the warm-up to the end, per 1,000 calls served in between.
    growth = sampler.growth(warmed_up_at, window)
    assert growth[0].calls >= 300, f"too little traffic to judge memory by: {growth[0].calls} calls"
    over: list[Growth] = [g for g in growth if g.mib > g.allowed_mib(RSS_SLACK_MIB, RSS_PER_1000_CALLS_MIB)]
    assert over == [], "memory grew: " + "; ".join(map(str, growth))
    print("soak memory: " + "; ".join(map(str, growth)))

    # (b) Leftovers, once everything has scaled to zero.
    assert cgroups_while_running, f"no cgroup of the soak's containers under {cgroup_parents} while they ran"
    ids = set(node_containers(settings, stack.node_id))

    def nothing_left() -> bool:
        return not (
            runtime_descendants(stack.agent.pid)
            or sandbox_processes(MARKER)
            or cgroups_named(cgroup_parents, ids, zygote_prefix)
            or set(node_containers(settings, stack.node_id).values()) - {"exited"}
        )

    wait_until(nothing_left, SCALE_TO_ZERO_S, every=0.5)
    assert runtime_descendants(stack.agent.pid) == [], "sandboxes are left under the agent"
    assert sandbox_processes(MARKER) == [], "sandbox processes of the soak's functions are left"
    assert cgroups_named(cgroup_parents, ids, zygote_prefix) == [], "cgroups are left"
    containers = node_containers(settings, stack.node_id)
    assert set(containers.values()) == {"exited"}, containers
    assert entries(stack.agent_state, 3) <= state_after_warm_up, "the agent's state directory grew"
    assert paths_naming(stack.agent_state, set(containers)) == [], "files named after containers are left"
    assert entries(stack.agent_tmp, 3) <= tmp_after_warm_up, "the agent's temp directory grew"
    assert stack.agent.popen.poll() is None and stack.api.popen.poll() is None, "a process of the stack died"
