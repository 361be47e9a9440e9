"""Outages of the backing services with real processes (T6, T7, T8): while Postgres is down the API
answers 503 with Retry-After and accepts nothing it cannot keep; after Postgres or Redis come back,
every accepted call reaches a terminal state (lost = 0). T7's load grows nightly (tests/scale.py)."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest
import redis

from api.settings import Settings
from skiff.local.services import PostgresServer, RedisServer
from tests.e2e.conftest import Platform, reported_warm, wait_until
from tests.e2e.test_core_loop import MANIFEST, SOURCE, deploy
from tests.scale import SCALE, scaled

FLUSH_CLIENTS = 4
FLUSH_CALLS_PER_CLIENT = scaled(15)


def submit(http: httpx.Client, count: int) -> tuple[list[str], list[httpx.Response]]:
    accepted, refused = [], []
    for i in range(count):
        try:
            response = http.post("/v1/apps/e2e/functions/hello/calls", json={"args": [f"n{i}"]})
        except httpx.TransportError:
            continue
        if response.status_code == 202:
            accepted.append(response.json()["id"])
        else:
            refused.append(response)
    return accepted, refused


def drain(http: httpx.Client, ids: list[str], timeout: float = 90) -> dict[str, str]:
    """Every id's final status; fails if one is still not terminal at the deadline."""
    deadline = time.monotonic() + timeout
    final: dict[str, str] = {}
    for call_id in ids:
        while True:
            try:
                body = http.get(f"/v1/calls/{call_id}/result", params={"wait": 5}).json()
            except (httpx.TransportError, ValueError):
                body = {"status": "unknown"}
            if body.get("status") in ("succeeded", "failed", "timed_out", "cancelled"):
                final[call_id] = body["status"]
                break
            assert time.monotonic() < deadline, f"call {call_id} never ended: {body}"
            time.sleep(0.2)
    return final


def test_postgres_crash_answers_503_then_loses_nothing(platform: Platform, postgres: PostgresServer) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        before, _ = submit(http, 10)
        postgres.stop_immediately()  # `pg_ctl stop -m immediate`: a crash as clients see it
        try:
            during, refused = submit(http, 5)
            assert during == [] and refused, "nothing may be accepted without Postgres"
            for response in refused:
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "1"
                assert response.headers["content-type"] == "application/problem+json"
        finally:
            postgres.start()
        after, _ = submit(http, 10)
        final = drain(http, before + after)
        assert set(final) == set(before + after)
        assert set(final.values()) == {"succeeded"}


def test_redis_restart_loses_nothing(platform: Platform, redis_server: RedisServer) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        before, _ = submit(http, 10)
        redis_server.stop()  # SHUTDOWN NOSAVE: its queues are gone
        try:
            during, _ = submit(http, 5)  # accepted into Postgres even though Redis is away
        finally:
            redis_server.start()
        after, _ = submit(http, 10)
        final = drain(http, before + during + after)
        assert set(final) == set(before + during + after)
        assert set(final.values()) == {"succeeded"}


@pytest.mark.timeout(120 * SCALE)
def test_redis_flushed_under_load_loses_nothing(platform: Platform, redis_server: RedisServer) -> None:
    """T7: FLUSHALL while clients submit and containers take inputs: every queue, wake-up and notice
    in Redis is gone at once; the reconciler publishes the queued calls again from Postgres."""
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)

        def client_submits() -> tuple[list[str], list[httpx.Response]]:
            with platform.http() as own:
                return submit(own, FLUSH_CALLS_PER_CLIENT)

        with concurrent.futures.ThreadPoolExecutor(FLUSH_CLIENTS) as pool:
            load = [pool.submit(client_submits) for _ in range(FLUSH_CLIENTS)]
            time.sleep(0.3)
            with redis.Redis.from_url(redis_server.url) as direct:
                assert direct.flushall()
            submitted = [future.result() for future in load]
        accepted = [call_id for ids, _ in submitted for call_id in ids]
        assert all(refused == [] for _, refused in submitted), [r.text for _, refused in submitted for r in refused]
        assert len(accepted) == FLUSH_CLIENTS * FLUSH_CALLS_PER_CLIENT
        final = drain(http, accepted, timeout=90 * SCALE)
        assert set(final) == set(accepted)
        assert set(final.values()) == {"succeeded"}


def test_a_zygote_that_warms_while_postgres_is_down_is_reported_once_it_is_back(
    platform: Platform, postgres: PostgresServer, settings: Settings
) -> None:
    """What is warm on a node (a placement hint, and what lets a last container sleep) rides on the node's
    polls: one that fails must not count as having told the API."""
    # Its module takes a second to import, so its zygote warms well after its first container is ready.
    source = "import time\ntime.sleep(1.0)\n\ndef f():\n    return 1\n"
    with platform.http() as http:
        deploy(http, "slow-import", {"slowimport.py": source}, '[functions.f]\nhandler = "slowimport:f"\n')
        answer = http.post("/v1/apps/slow-import/functions/f/calls", json={"args": []}, headers={"Prefer": "wait=30"})
        container = answer.json()["container_id"]
        assert not reported_warm(settings, container)
        postgres.stop_immediately()
        try:
            time.sleep(2.5)  # the zygote warms; the polls that carry it fail (a lease is 4 s)
        finally:
            postgres.start()
        assert wait_until(lambda: reported_warm(settings, container), 10)
