"""Load, CI-sized. L1: 500 calls from 50 concurrent clients; the history of every operation is
recorded and checked afterwards: no 5xx, every accepted call ends exactly once with its own result,
and no call ran more times than it was allowed. L2: a burst from zero stays within max_containers
and builds each environment once per node."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass

from tests.e2e.conftest import Cluster, Platform
from tests.e2e.test_core_loop import MANIFEST, SOURCE, deploy
from tests.e2e.test_outages import drain

CLIENTS = 50
CALLS_PER_CLIENT = 10


@dataclass(frozen=True)
class Operation:
    client: int
    sent: float
    answered: float
    status: int
    call_id: str | None
    name: str


def run_client(platform: Platform, client: int, history: list[Operation], lock: threading.Lock) -> None:
    with platform.http() as http:
        for i in range(CALLS_PER_CLIENT):
            name = f"c{client}-{i}"
            sent = time.monotonic()
            response = http.post("/v1/apps/e2e/functions/hello/calls", json={"args": [name]})
            call_id = response.json().get("id") if response.status_code == 202 else None
            with lock:
                history.append(Operation(client, sent, time.monotonic(), response.status_code, call_id, name))


def test_concurrent_clients_lose_nothing_and_see_no_server_errors(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
    history: list[Operation] = []
    lock = threading.Lock()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(run_client, platform, c, history, lock) for c in range(CLIENTS)]:
            future.result()
    assert len(history) == CLIENTS * CALLS_PER_CLIENT
    assert [op for op in history if op.status >= 500] == []
    accepted = {op.call_id: op.name for op in history if op.call_id is not None}
    assert len(accepted) == len(history)  # nothing refused at this load, every id distinct
    with platform.http() as http:
        final = drain(http, list(accepted), timeout=180)
        assert set(final.values()) == {"succeeded"}
        for call_id, name in list(accepted.items())[::CALLS_PER_CLIENT]:  # a sample: each call got its own answer
            body = http.get(f"/v1/calls/{call_id}").json()
            assert body["result"]["greeting"] == f"hello {name}"
            assert 1 <= body["attempt"] <= body["max_attempts"]


BURST_SOURCE = """
import time

def work(i):
    time.sleep(0.3)
    return i
"""
BURST_MANIFEST = """
[functions.work]
handler = "app:work"
requirements = ["iniconfig==2.0.0"]
max_containers = 3
memory = 128
"""


def test_a_burst_from_zero_starts_no_more_than_max_containers_and_builds_once_per_node(cluster: Cluster) -> None:
    """L2: 60 calls at once for a function with no container and no environment yet: never more
    than `max_containers` containers, and its environment built once on each node that runs it."""
    with cluster.http() as http:
        deploy(http, "l2", {"app.py": BURST_SOURCE}, BURST_MANIFEST)
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(
                pool.map(lambda i: http.post("/v1/apps/l2/functions/work/calls", json={"args": [i]}), range(60))
            )
        assert [a.status_code for a in answers] == [202] * 60
        ids = [a.json()["id"] for a in answers]
        most_running = 0
        while (running := http.get("/v1/calls", params={"app": "l2", "status": "running", "limit": 100})).json()[
            "items"
        ] or http.get("/v1/calls", params={"app": "l2", "status": "queued", "limit": 1}).json()["items"]:
            most_running = max(most_running, len(running.json()["items"]))
            assert most_running <= 3, running.json()["items"]
            time.sleep(0.05)
        final = [http.get(f"/v1/calls/{i}").json() for i in ids]
        assert [c["status"] for c in final] == ["succeeded"] * 60
        assert sorted(c["result"] for c in final) == list(range(60))
        containers = {c["container_id"] for c in final}
        assert 1 <= len(containers) <= 3, containers
        nodes = {c["node_id"] for c in final}
        builds = http.get("/v1/apps/l2/deployments/1/builds").json()["items"]
        assert sorted(b["node_id"] for b in builds if b["succeeded"]) == sorted(nodes), builds
        assert [b for b in builds if not b["succeeded"]] == [], builds
