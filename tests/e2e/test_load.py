"""Load, CI-sized (L1): 500 calls from 50 concurrent clients. The history of every operation is
recorded and checked afterwards: no 5xx, every accepted call ends exactly once with its own result,
and no call ran more times than it was allowed."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass

from tests.e2e.conftest import Platform
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
