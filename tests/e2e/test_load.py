"""Load, CI-sized (tests/scale.py multiplies the counts nightly). L1: 500 calls from 50 concurrent
clients; the history of every operation is recorded and checked afterwards: no 5xx, every accepted
call ends exactly once with its own result, and no call ran more times than it was allowed. L2: a
burst from zero stays within max_containers and builds each environment once per node. L3: a map
of 1,000 inputs (10,000 nightly) ends every call with its own result."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import Cluster, Platform
from tests.e2e.test_core_loop import MANIFEST, SOURCE, deploy
from tests.e2e.test_outages import drain
from tests.faults.history import settle
from tests.scale import SCALE, scaled

CLIENTS = 50
CALLS_PER_CLIENT = scaled(10)
BURST = scaled(60)
MAP_INPUTS = scaled(1000)


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


@pytest.mark.timeout(120 * SCALE)
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
        final = drain(http, list(accepted), timeout=180 * SCALE)
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


@pytest.mark.timeout(120 * SCALE)
def test_a_burst_from_zero_starts_no_more_than_max_containers_and_builds_once_per_node(cluster: Cluster) -> None:
    """L2: 60 calls at once (600 nightly) for a function with no container and no environment yet:
    never more than `max_containers` containers, and its environment built once on each node that
    runs it (and on none twice: the build a deploy asks for ahead of the calls counts as that once)."""
    with cluster.http() as http:
        deploy(http, "l2", {"app.py": BURST_SOURCE}, BURST_MANIFEST)
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(
                pool.map(lambda i: http.post("/v1/apps/l2/functions/work/calls", json={"args": [i]}), range(BURST))
            )
        assert [a.status_code for a in answers] == [202] * BURST
        ids = [a.json()["id"] for a in answers]
        most_running = 0
        while (running := http.get("/v1/calls", params={"app": "l2", "status": "running", "limit": 100})).json()[
            "items"
        ] or http.get("/v1/calls", params={"app": "l2", "status": "queued", "limit": 1}).json()["items"]:
            most_running = max(most_running, len(running.json()["items"]))
            assert most_running <= 3, running.json()["items"]
            time.sleep(0.05)
        final = [http.get(f"/v1/calls/{i}").json() for i in ids]
        assert [c["status"] for c in final] == ["succeeded"] * BURST
        assert sorted(c["result"] for c in final) == list(range(BURST))
        containers = {c["container_id"] for c in final}
        assert 1 <= len(containers) <= 3, containers
        nodes = {c["node_id"] for c in final}
        builds = http.get("/v1/apps/l2/deployments/1/builds").json()["items"]
        built_on = [b["node_id"] for b in builds if b["state"] == "succeeded"]
        # Once per node: the build ahead of the calls, or a container's start that came first.
        assert len(built_on) == len(set(built_on)) and nodes <= set(built_on), builds
        assert [b for b in builds if b["state"] != "succeeded"] == [], builds


MAP_SOURCE = """
def double(x):
    return 2 * x
"""
MAP_MANIFEST = """
[functions.double]
handler = "app:double"
memory = 128
"""
MOST_PER_MAP = 10_000  # the API's limit on one map's inputs


@pytest.mark.timeout(120 * SCALE)
def test_a_map_of_many_inputs_ends_every_call_once_with_its_own_result(platform: Platform) -> None:
    """L3: the inputs go in maps of at most the limit each; every call ends once, in order, in its
    first attempt."""
    with platform.http() as http:
        deploy(http, "l3", {"app.py": MAP_SOURCE}, MAP_MANIFEST)
        ids: list[str] = []
        for start in range(0, MAP_INPUTS, MOST_PER_MAP):
            inputs = [{"args": [i]} for i in range(start, min(start + MOST_PER_MAP, MAP_INPUTS))]
            batch = http.post("/v1/apps/l3/functions/double/map", json={"inputs": inputs})
            assert batch.status_code == 202, batch.text
            ids += batch.json()["calls"]
        assert len(set(ids)) == MAP_INPUTS
        final = settle(http, ids, timeout=60 * SCALE)
        assert [final[call_id]["result"] for call_id in ids] == [2 * i for i in range(MAP_INPUTS)]
        assert {(call["status"], call["attempt"]) for call in final.values()} == {("succeeded", 1)}
