"""The history recorder of TESTPLAN's harness: what clients asked for and what they were answered,
kept so that a checker can afterwards drain every acknowledged call and judge what became of it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

TERMINAL = ("succeeded", "failed", "timed_out", "cancelled")


@dataclass
class History:
    """What the clients saw: the key of each call they asked for, and what they were answered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: set[str] = field(default_factory=set)
    acknowledged: dict[str, str] = field(default_factory=dict)  # key → call id
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    unexpected: list[str] = field(default_factory=list)

    def record(self, key: str, answer: httpx.Response | None) -> None:
        with self.lock:
            self.sent.add(key)
            if answer is None:
                self.transport_errors += 1
                return
            self.statuses[answer.status_code] += 1
            if answer.status_code in (200, 202):  # ended within the wait, or accepted and still going
                call_id = answer.json()["id"]
                earlier = self.acknowledged.setdefault(key, call_id)
                if earlier != call_id:
                    self.unexpected.append(f"key {key} acknowledged as {earlier} and then as {call_id}")
            elif answer.status_code not in (429, 503):
                self.unexpected.append(f"key {key}: {answer.status_code} {answer.text[:300]}")

    def record_map(self, keys: list[str], answer: httpx.Response | None) -> None:
        """A map of one call per key, in order: acknowledged together or not at all."""
        with self.lock:
            self.sent.update(keys)
            if answer is None:
                self.transport_errors += 1
                return
            self.statuses[answer.status_code] += 1
            if answer.status_code == 202:
                self.acknowledged.update(zip(keys, answer.json()["calls"], strict=True))
            elif answer.status_code not in (429, 503):
                self.unexpected.append(f"map of {keys[0]}…: {answer.status_code} {answer.text[:300]}")

    def calls(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def settle(http: httpx.Client, call_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Each call as it ended, by id, asking for many at a time; fails naming those still going at the
    deadline."""
    deadline = time.monotonic() + timeout
    final: dict[str, dict[str, Any]] = {}
    pending = list(call_ids)
    while pending:
        for start in range(0, len(pending), 10_000):
            answer = http.post("/v1/calls/wait", json={"ids": pending[start : start + 10_000], "wait": 5})
            assert answer.status_code == 200, answer.text
            final.update((call["id"], call) for call in answer.json()["items"] if call["status"] in TERMINAL)
        pending = [call_id for call_id in pending if call_id not in final]
        assert not pending or time.monotonic() < deadline, f"{len(pending)} calls never ended: {pending[:5]}"
    return final


def all_calls(http: httpx.Client, app: str) -> list[dict[str, Any]]:
    """Every call of the app, as the listing pages them."""
    calls: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"app": app, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/calls", params=params).json()
        calls += page["items"]
        if not (cursor := page["next_cursor"]):
            return calls
