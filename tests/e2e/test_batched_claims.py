"""A slot of a quick function takes queued inputs in batches (claimed in one statement, so they
share a start time); a slow function's slot takes one at a time, so no input waits behind it."""

from __future__ import annotations

from collections import Counter

import httpx

from tests.e2e.conftest import Platform
from tests.e2e.test_core_loop import deploy

SOURCE = """
import time

def quick(x):
    return x

def slow(x):
    time.sleep(0.05)
    return x
"""

MANIFEST = """
[functions.quick]
handler = "app:quick"
max_containers = 1

[functions.slow]
handler = "app:slow"
max_containers = 1
"""


def run_map(http: httpx.Client, fn: str, count: int) -> list[dict[str, object]]:
    batch = http.post(f"/v1/apps/batched/functions/{fn}/map", json={"inputs": [{"args": [i]} for i in range(count)]})
    assert batch.status_code == 202, batch.text
    pending, ended = list(batch.json()["calls"]), []
    while pending:
        answer = http.post("/v1/calls/wait", json={"ids": pending, "wait": 30})
        assert answer.status_code == 200, answer.text
        ended += answer.json()["items"]
        done = {call["id"] for call in answer.json()["items"]}
        assert done, "no call ended within 30 s"
        pending = [call_id for call_id in pending if call_id not in done]
    return ended


def test_a_quick_function_takes_inputs_in_batches_and_a_slow_one_does_not(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "batched", {"app.py": SOURCE}, MANIFEST)
        quick = run_map(http, "quick", 200)
        assert sorted(call["result"] for call in quick) == list(range(200))
        assert {call["status"] for call in quick} == {"succeeded"}
        together = Counter(call["started_at"] for call in quick)
        assert max(together.values()) > 1, "every input was claimed on its own"
        assert len({call["container_id"] for call in quick}) == 1

        slow = run_map(http, "slow", 6)
        assert sorted(call["result"] for call in slow) == list(range(6))
        assert max(Counter(call["started_at"] for call in slow).values()) == 1
