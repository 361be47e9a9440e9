"""Everything at once (the scheduler issue's "done when"): clients submit for the whole run while a
nemesis kills agents, flushes and restarts Redis, crash-restarts Postgres, kills the scheduler
leader and kills an API process. Then a checker reads the history the clients recorded:

- every acknowledged call ends in one terminal state, with its own result;
- no call is visible twice (each client key made at most one call, retries included);
- no call ran more than `max_attempts` times;
- nothing of the function is left running once its containers scale down.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis

from api.calls.store import dsn_of
from api.settings import Settings
from skiff.local.services import PostgresServer, RedisServer, free_port
from tests.e2e.conftest import Platform, Process, bootstrap_tenant, server_env, start_agent
from tests.e2e.test_core_loop import deploy
from tests.e2e.test_faults import runtime_descendants, wait_until_ready
from tests.faults.history import History, all_calls
from tests.scale import SCALE

SOURCE = """
import time

def work(key):
    time.sleep(0.1)
    return key
"""
MANIFEST = """
[functions.work]
handler = "app:work"
max_containers = 3
scaledown_window = 2
timeout = 30
memory = 128
"""
CLIENTS = 6
# Attempts lost to the nemesis are retried; two agent kills may hit one call twice.
LOST_ATTEMPT_RETRIES = "3"


def client_loop(client: int, urls: list[str], headers: dict[str, str], history: History, stop: threading.Event) -> None:
    """Submits one call after another, each waiting a little for its end (so the load follows what
    the containers can take); a call not acknowledged is asked for again with the same
    Idempotency-Key, from the next API process, until it is."""
    with httpx.Client(headers=headers, timeout=15) as http:
        turn = client
        for i in range(10_000):
            key = f"c{client}-{i}"
            while True:
                url = urls[turn % len(urls)]
                try:
                    answer: httpx.Response | None = http.post(
                        f"{url}/v1/apps/chaos/functions/work/calls",
                        json={"args": [key]},
                        headers={"Idempotency-Key": key, "Prefer": "wait=5"},
                    )
                except httpx.TransportError:
                    answer = None
                history.record(key, answer)
                if answer is not None and answer.status_code in (200, 202):
                    break
                turn += 1
                if stop.wait(0.2):
                    return
            if stop.is_set():
                return


@dataclass
class Stack:
    settings: Settings
    state: Path
    apis: list[tuple[int, Process]]
    schedulers: list[Process]
    agents: dict[str, Process]
    node_token: str

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port, _ in self.apis]

    def env(self, **extra: str) -> dict[str, str]:
        return server_env(self.settings, SKIFF_LOST_ATTEMPT_RETRIES=LOST_ATTEMPT_RETRIES, **extra)

    def start_api(self, port: int) -> Process:
        process = Process(
            [sys.executable, "-m", "api", "serve"],
            self.env(SKIFF_PORT=str(port)),
            self.state / f"api-{port}-{time.monotonic_ns()}.log",
        )
        wait_until_ready(f"http://127.0.0.1:{port}")
        return process

    def start_scheduler(self) -> Process:
        log = self.state / f"scheduler-{time.monotonic_ns()}.log"
        return Process([sys.executable, "-m", "scheduler"], self.env(), log)

    def start_agent(self, name: str) -> Process:
        url = self.urls[ord(name[-1]) % len(self.urls)]  # a and c through one API process, b the other
        return start_agent(url, self.node_token, self.settings, self.state / name, name)

    def kill_agent(self, name: str) -> None:
        self.agents[name].popen.send_signal(signal.SIGKILL)
        self.agents[name].popen.wait(10)
        self.agents[name].stop()  # closes its log
        self.agents[name] = self.start_agent(name)

    def kill_api(self, index: int) -> None:
        port, process = self.apis[index]
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(10)
        process.stop()
        self.apis[index] = (port, self.start_api(port))

    def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop(30)
        for scheduler in self.schedulers:
            scheduler.stop()
        for _, api in self.apis:
            api.stop()


@pytest.fixture
def stack(platform: Platform, settings: Settings, open_tmp: Path) -> Iterator[tuple[Stack, dict[str, str]]]:
    tenant = bootstrap_tenant(settings, "chaos")
    node_token = httpx.post(
        f"{platform.url}/v1/tokens", json={"name": "agents", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    stack = Stack(settings, open_tmp, [], [], {}, node_token)
    try:
        stack.apis = [(port, stack.start_api(port)) for port in (free_port(), free_port())]
        stack.schedulers = [stack.start_scheduler()]  # with the platform's own: a leader and a standby
        for name in ("a", "b", "c"):
            stack.agents[name] = stack.start_agent(name)
        with httpx.Client(base_url=stack.urls[0], headers=tenant.headers, timeout=30) as http:
            deadline = time.monotonic() + 30
            while len([n for n in http.get("/v1/nodes").json()["items"] if n["state"] == "ready"]) < 3:
                assert time.monotonic() < deadline, "the chaos agents did not register"
                time.sleep(0.2)
        yield stack, tenant.headers
    finally:
        stack.stop()


async def leader_pid(database_url: str) -> int | None:
    connection = await asyncpg.connect(dsn_of(database_url))
    try:
        holder = await connection.fetchval("SELECT holder FROM leader_leases WHERE expires_at > now()")
    finally:
        await connection.close()
    return int(holder.rsplit(":", 1)[1]) if holder else None


def kill_the_leader(stack: Stack, platform: Platform) -> None:
    """SIGKILL whichever scheduler leads; the standby takes over within the leader's lease (3 s in
    these tests) and a tick. Another scheduler is started as the new standby."""
    pid = asyncio.run(leader_pid(stack.settings.database_url))
    assert pid is not None, "no scheduler leads"
    if pid == platform.scheduler.pid:
        platform.scheduler.popen.send_signal(signal.SIGKILL)
        platform.scheduler.stop()
        platform.scheduler = stack.start_scheduler()
    else:
        (victim,) = [s for s in stack.schedulers if s.pid == pid]
        victim.popen.send_signal(signal.SIGKILL)
        victim.stop()
        stack.schedulers = [s for s in stack.schedulers if s is not victim] + [stack.start_scheduler()]
    deadline = time.monotonic() + 3 + 5  # the lease, and room for a loaded machine
    while asyncio.run(leader_pid(stack.settings.database_url)) in (None, pid):
        assert time.monotonic() < deadline, "no standby took over"
        time.sleep(0.2)


def crash_postgres(postgres: PostgresServer) -> None:
    postgres.stop_immediately()
    time.sleep(1.0)
    postgres.start()


def restart_redis(redis_server: RedisServer) -> None:
    redis_server.stop()
    time.sleep(0.5)
    redis_server.start()


def flush_redis(redis_server: RedisServer) -> None:
    with redis.Redis.from_url(redis_server.url) as direct:
        direct.flushall()


@pytest.mark.timeout(360 * SCALE)
def test_every_acknowledged_call_ends_once_through_every_fault(
    stack: tuple[Stack, dict[str, str]], platform: Platform, postgres: PostgresServer, redis_server: RedisServer
) -> None:
    chaos, headers = stack
    with httpx.Client(base_url=chaos.urls[0], headers=headers, timeout=70) as http:
        deploy(http, "chaos", {"app.py": SOURCE}, MANIFEST)
    history, stop = History(), threading.Event()
    faults: list[tuple[str, Callable[[], None]]] = [
        ("SIGKILL agent a", lambda: chaos.kill_agent("a")),
        ("Redis FLUSHALL", lambda: flush_redis(redis_server)),
        ("Redis restart", lambda: restart_redis(redis_server)),
        ("scheduler leader SIGKILL", lambda: kill_the_leader(chaos, platform)),
        ("Postgres crash-restart", lambda: crash_postgres(postgres)),
        ("SIGKILL an API process", lambda: chaos.kill_api(0)),
        ("SIGKILL agent b", lambda: chaos.kill_agent("b")),
    ]
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        clients = [pool.submit(client_loop, c, chaos.urls, headers, history, stop) for c in range(CLIENTS)]
        try:
            time.sleep(3)
            for _round in range(SCALE):  # one round in CI; nightly runs every fault again, in turn
                for _name, fault in faults:
                    fault()
                    time.sleep(3)
        finally:
            stop.set()
            for future in clients:
                future.result(60)

    assert history.unexpected == []
    assert len(history.acknowledged) >= 30, (history.statuses, history.transport_errors)
    with httpx.Client(base_url=chaos.urls[1], headers=headers, timeout=70) as http:
        deadline = time.monotonic() + 150
        final: dict[str, dict[str, Any]] = {}
        for key, call_id in history.acknowledged.items():
            while True:
                with contextlib.suppress(httpx.TransportError, ValueError):
                    body = http.get(f"/v1/calls/{call_id}/result", params={"wait": 5}).json()
                    if body.get("status") in ("succeeded", "failed", "timed_out", "cancelled"):
                        final[key] = body
                        break
                assert time.monotonic() < deadline, f"call {call_id} (key {key}) never ended"
                time.sleep(0.2)
        listed = all_calls(http, "chaos")

    # Every acknowledged call ended once, with its own result; a call fails only when every
    # attempt it was allowed was lost to the faults.
    for key, body in final.items():
        if body["status"] == "succeeded":
            assert body["result"] == key, body
        else:
            assert body["status"] == "failed" and body["attempt"] == body["max_attempts"], body
    # Up to three per round of faults: the calls each round's kills and crashes caught in every attempt.
    assert Counter(b["status"] for b in final.values())["succeeded"] >= len(final) - 3 * SCALE, Counter(
        b["status"] for b in final.values()
    )
    # No call visible twice: each key made one call at most, however often it was asked for.
    results = Counter(c["result"] for c in listed if c["status"] == "succeeded")
    assert [key for key, count in results.items() if count > 1] == []
    assert {c["id"] for c in listed} >= set(history.acknowledged.values())
    assert len(listed) <= len(history.sent)
    # No call ran more often than it was allowed to.
    assert all(c["attempt"] <= c["max_attempts"] for c in listed), [c for c in listed if c["attempt"] > 3]
    # Nothing of the function is left once its containers scale down (window 2 s, zygotes 3 s).
    deadline = time.monotonic() + 30
    while (left := [p for agent in chaos.agents.values() for p in runtime_descendants(agent.pid)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert left == [], "sandboxes were left running"
