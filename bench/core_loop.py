"""The core loop over real processes: warm sync invoke and cold start of a no-op function.

    .venv/bin/python bench/core_loop.py [--calls 500] [--cold-runs 20] [--rss-calls 20000] [--json out.json]

Starts its own Postgres (durable: fsync on, as a real run) and Redis in a throwaway directory, the
API, the scheduler and one agent, deploys a no-op function and measures, over HTTP with a
keep-alive client:

- warm: `Prefer: wait=10` calls, one after another, all served by one warm container;
- cold: one call when no container of the function is alive (its scaledown_window is 2 s; we
  wait until no sandbox of it is left in /proc), to its result; plus the agent's own
  `cold_start_ms` (start command received -> container ready);
- warm after a pause: the warm call again, 0.5 s after the previous one (as the zygote's settled cold
  runs are), so that a cold path's hops are read against what waking the same processes costs;

and, in the same process, the floors under them: a Redis LPUSH+BLPOP ping-pong between two
connections, an arq job's enqueue -> result (a job queue on the same Redis; polls of 1 ms, and arq's
default 0.5 s), a Postgres INSERT committed (one round trip, WAL flushed), a GET /livez, a round trip to
another process back to back and after a 0.5 s pause, and a sandboxed container's spawn -> first result
without the control plane (bench/cold_start.py).
With --rss-calls N, also the resident memory of the API, the scheduler, the agent and the warm
container from before the timed warm calls to after N warm calls in all (untimed ones after the timed).
Prints a markdown table; speed is measured, not asserted. Needs root and bubblewrap, like the agent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import shlex
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
from arq import Worker, create_pool
from arq.connections import RedisSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cold_start  # bench/cold_start.py (next to us): the container-level cold start, the floor for cold calls
from report import machine, percentile
from stack import BenchError, Stack, cpu_seconds, deploy, interrupt_on_sigterm, log, process_rss_mib, sandbox_pids

from agent import runtime_files
from agent.sandbox import users

APP = "bench"
SOURCE = """
def noop():
    return None
"""
# Two functions of one bundle: `noop` stays warm; `cold` scales to zero 2 s after each call.
MANIFEST = """
[functions.noop]
handler = "app:noop"
scaledown_window = 600
max_containers = 1
cpu = 0.25
memory = 128

[functions.cold]
handler = "app:cold"
scaledown_window = 2
max_containers = 1
cpu = 0.25
memory = 128
"""
SOURCE += "\ndef cold():\n    return None\n"

ZYGOTE_SETTLE_S = 0.5  # see zygote_cold_calls
TARGETS = {"warm_p50": 3.0, "warm_p99": 10.0, "cold_p50": 50.0}
ARQ_POLL = 0.001  # seconds, the arq worker's queue poll and the client's result poll (arq's default: 0.5)
ARQ_DEFAULT_POLL, ARQ_DEFAULT_ROUNDS = 0.5, 20  # arq as it comes: each round trip waits for polls


# ---- statistics and the table -----------------------------------------------------------------


@dataclass
class Figure:
    key: str  # short name: JSON key, and how other rows name it as their floor
    name: str
    samples: list[float]
    target: str = ""
    floor: str = ""  # the key of the figure it is compared to

    def summary(self) -> dict[str, float]:
        s = self.samples
        return {
            "n": len(s),
            "p50": statistics.median(s),
            "p90": percentile(s, 90),
            "p99": percentile(s, 99),
            "max": max(s),
            "mean": statistics.fmean(s),
        }


def render(figures: list[Figure]) -> str:
    by_key = {f.key: f for f in figures}
    rows = [
        "| figure | n | p50 ms | p90 ms | p99 ms | max ms | target | p50 vs floor |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for f in figures:
        s = f.summary()
        ratio = ""
        if f.floor and f.floor in by_key:
            floor = statistics.median(by_key[f.floor].samples)
            ratio = f"{s['p50'] / floor:.1f}x {f.floor}"
        rows.append(
            f"| {f.name} | {s['n']:.0f} | {s['p50']:.2f} | {s['p90']:.2f} | {s['p99']:.2f} | {s['max']:.2f} "
            f"| {f.target} | {ratio} |"
        )
    return "\n".join(rows)


# ---- measurements -----------------------------------------------------------------------------


def ms_since(begun: float) -> float:
    return (time.perf_counter() - begun) * 1000


def call(http: httpx.Client | KeepAlive, fn: str, wait: int) -> dict[str, Any]:
    if isinstance(http, KeepAlive):
        status, text = http.request("POST", f"/v1/apps/{APP}/functions/{fn}/calls", b'{"args":[]}', wait)
    else:
        response = http.post(
            f"/v1/apps/{APP}/functions/{fn}/calls", json={"args": []}, headers={"Prefer": f"wait={wait}"}
        )
        status, text = response.status_code, response.text
    body: dict[str, Any] = json.loads(text)
    if status != 200 or body.get("status") != "succeeded":
        raise BenchError(f"call to {fn} answered {status}: {text[:500]}")
    return body


class KeepAlive:
    """A lean HTTP/1.1 client on one kept-alive connection (the standard library's), so that the
    figures are the platform's more than the client's: httpx adds about 0.8 ms to each request here
    (GET /livez), which the `through httpx` row shows for calls."""

    def __init__(self, url: str, token: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=70)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: bytes | None = None, wait: int = 0) -> tuple[int, str]:
        headers = {**self.headers, "Prefer": f"wait={wait}"} if wait else self.headers
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the connection after its keep-alive window: once more on a new one.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        return response.status, response.read().decode()

    def close(self) -> None:
        self.connection.close()


@dataclass
class Timed:
    """One call as the client saw it (wall clock, to compare with Postgres' now()) and its body."""

    sent: datetime
    received: datetime
    ms: float
    body: dict[str, Any]

    def stamp(self, key: str) -> datetime:
        return datetime.fromisoformat(self.body[key])


def timed_call(http: httpx.Client | KeepAlive, fn: str, wait: int) -> Timed:
    sent, begun = datetime.now(UTC), time.perf_counter()
    body = call(http, fn, wait)
    ms = ms_since(begun)
    return Timed(sent, datetime.now(UTC), ms, body)


def gap_ms(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() * 1000


# Where a call's time goes, from the transaction start times (Postgres now()) the rows carry.
WARM_PHASES: list[tuple[str, Callable[[Timed, dict[str, datetime]], float]]] = [
    ("client sends → call row (submit tx begins)", lambda t, c: gap_ms(t.stamp("created_at"), t.sent)),
    (
        "call row → claimed by the container (0 when a waiting slot takes it in the insert)",
        lambda t, c: gap_ms(t.stamp("started_at"), t.stamp("created_at")),
    ),
    (
        "claimed → outcome recorded (HTTP to agent, sandbox, HTTP back)",
        lambda t, c: gap_ms(t.stamp("finished_at"), t.stamp("started_at")),
    ),
    ("outcome recorded → client has the answer", lambda t, c: gap_ms(t.received, t.stamp("finished_at"))),
]
COLD_PHASES: list[tuple[str, Callable[[Timed, dict[str, datetime]], float]]] = [
    ("client sends → call row", lambda t, c: gap_ms(t.stamp("created_at"), t.sent)),
    ("call row → scheduler inserts the container row", lambda t, c: gap_ms(c["created_at"], t.stamp("created_at"))),
    ("→ the agent's node poll takes the start command", lambda t, c: gap_ms(c["started_at"], c["created_at"])),
    ("→ container ready, first next_input reaches the API", lambda t, c: gap_ms(c["ready_at"], c["started_at"])),
    ("→ call claimed by the container", lambda t, c: gap_ms(t.stamp("started_at"), c["ready_at"])),
    ("→ outcome recorded", lambda t, c: gap_ms(t.stamp("finished_at"), t.stamp("started_at"))),
    ("→ client has the answer", lambda t, c: gap_ms(t.received, t.stamp("finished_at"))),
]


async def container_stamps(url: str, ids: list[str]) -> dict[str, dict[str, datetime]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT id, created_at, started_at, ready_at FROM containers WHERE id = any($1::text[])", ids
        )
    finally:
        await conn.close()
    return {row["id"]: dict(row) for row in rows}


def phases(
    path: str,
    spec: list[tuple[str, Callable[[Timed, dict[str, datetime]], float]]],
    calls: list[Timed],
    containers: dict[str, dict[str, datetime]],
) -> list[dict[str, Any]]:
    rows = []
    for name, measure in spec:
        samples = [measure(t, containers.get(t.body["container_id"], {})) for t in calls]
        rows.append({"path": path, "phase": name, "p50": statistics.median(samples), "p90": percentile(samples, 90)})
    return rows


def woke(call: Timed, containers: dict[str, dict[str, datetime]]) -> bool:
    """Whether the call woke an asleep container (placed before the call) rather than a new one."""
    return bool(containers[call.body["container_id"]]["created_at"] < call.stamp("created_at"))


def cold_phases(path: str, calls: list[Timed], containers: dict[str, dict[str, datetime]]) -> list[dict[str, Any]]:
    """A cold path's phases: a call that woke an asleep container has a warm call's, its new process
    started between the claim and the outcome; one that placed a new container has the start's."""
    woken = [t for t in calls if woke(t, containers)]
    placed = [t for t in calls if not woke(t, containers)]
    return (phases(f"{path}, woke the asleep container", WARM_PHASES, woken, containers) if woken else []) + (
        phases(f"{path}, placed a new container", COLD_PHASES, placed, containers) if placed else []
    )


def render_phases(rows: list[dict[str, Any]]) -> str:
    lines = ["| path | phase | p50 ms | p90 ms |", "|---|---|---:|---:|"]
    lines += [f"| {r['path']} | {r['phase']} | {r['p50']:.1f} | {r['p90']:.1f} |" for r in rows]
    return "\n".join(lines)


def redis_ping_pong(url: str, rounds: int) -> list[float]:
    """LPUSH on one connection, BLPOP + LPUSH back on a second (a thread), BLPOP the answer."""
    key = f"bench:{uuid.uuid4().hex[:8]}"
    a, b = redis.Redis.from_url(url), redis.Redis.from_url(url)

    def echo() -> None:
        while True:
            _, value = b.blpop([f"{key}:ping"])  # type: ignore[misc]
            if value == b"stop":
                return
            b.lpush(f"{key}:pong", value)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    samples = []
    try:
        for i in range(rounds + 50):
            begun = time.perf_counter()
            a.lpush(f"{key}:ping", i)
            a.blpop([f"{key}:pong"])
            if i >= 50:
                samples.append(ms_since(begun))
    finally:
        a.lpush(f"{key}:ping", "stop")
        thread.join(5)
        a.close()
        b.close()
    return samples


async def noop(ctx: dict[Any, Any]) -> None:
    """The arq job: nothing."""


def to_json(job: dict[str, Any]) -> bytes:
    return json.dumps(job).encode()


async def arq_round_trips(url: str, rounds: int, poll: float = ARQ_POLL, warmup: int = 50) -> list[float]:
    """`enqueue_job` -> `job.result()` of a no-op job, JSON-serialized, on a queue of our own, the worker
    and the client polling every `poll` seconds.

    The worker is a task in this event loop, with a Redis connection pool of its own (a thread with
    its own loop measured the same, plus GIL hand-offs).
    """
    queue = f"bench:arq:{uuid.uuid4().hex[:8]}"
    settings = RedisSettings.from_dsn(url)
    worker = Worker(
        [noop],
        queue_name=queue,
        redis_settings=settings,
        poll_delay=poll,
        handle_signals=False,
        job_serializer=to_json,
        job_deserializer=json.loads,
    )
    running = asyncio.create_task(worker.async_run())
    pool = await create_pool(settings, default_queue_name=queue, job_serializer=to_json, job_deserializer=json.loads)
    samples, job_ids = [], []
    try:
        for i in range(rounds + warmup):
            begun = time.perf_counter()
            job = await pool.enqueue_job("noop")
            assert job is not None
            await job.result(timeout=10, poll_delay=poll)
            if i >= warmup:
                samples.append(ms_since(begun))
            job_ids.append(job.job_id)
        await pool.delete(*(f"arq:result:{job_id}" for job_id in job_ids))
        worker.burst = True  # arq's own stop: once the queue is empty and the last job's bookkeeping done
        await running
    finally:
        running.cancel()  # when the rounds failed
        with contextlib.suppress(asyncio.CancelledError):
            await running
        with warnings.catch_warnings():  # arq 0.28 closes its pool with redis' deprecated close()
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()
        await pool.aclose()
    return samples


async def postgres_round_trips(url: str, rounds: int) -> dict[str, list[float]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    results: dict[str, list[float]] = {"insert": [], "select": []}
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_round_trip (id bigserial PRIMARY KEY, v text)")
        for i in range(rounds + 50):
            begun = time.perf_counter()
            await conn.execute("INSERT INTO bench_round_trip (v) VALUES ($1)", str(i))  # autocommit: WAL flushed
            if i >= 50:
                results["insert"].append(ms_since(begun))
        for i in range(rounds + 50):
            begun = time.perf_counter()
            await conn.fetchval("SELECT 1")
            if i >= 50:
                results["select"].append(ms_since(begun))
        await conn.execute("DROP TABLE bench_round_trip")
    finally:
        await conn.close()
    return results


def livez(http: KeepAlive, rounds: int, pause: float = 0.0) -> list[float]:
    """GET /livez `rounds` times (after 50 unmeasured), each `pause` seconds after the previous one."""
    samples = []
    for i in range(rounds + 50):
        time.sleep(pause if i >= 50 else 0.0)
        begun = time.perf_counter()
        if http.request("GET", "/livez")[0] != 200:
            raise BenchError("GET /livez did not answer 200")
        if i >= 50:
            samples.append(ms_since(begun))
    return samples


async def postgres_counters(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_fetched FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        wal = await conn.fetchval("SELECT wal_records FROM pg_stat_wal")  # Postgres 14+
    finally:
        await conn.close()
    assert row is not None
    return {**dict(row), "wal_records": int(wal or 0)}


def redis_commands(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def per_call_counts(stack: Stack, calls: int, work: Callable[[], None], idle_seconds: float) -> dict[str, float]:
    """Postgres commits, rows and Redis commands per call, less what the idle platform does meanwhile."""
    assert stack.postgres is not None and stack.redis is not None
    pg_url, redis_url = stack.postgres.url, stack.redis.url

    def snapshot() -> dict[str, float]:
        # the snapshot's own connection and query count once per snapshot; negligible next to `calls`
        cpu = {f"cpu_ms:{name}": 1000 * cpu_seconds(pids) for name, pids in stack.process_groups().items()}
        return {**asyncio.run(postgres_counters(pg_url)), "redis_commands": redis_commands(redis_url), **cpu}

    before_idle = snapshot()
    time.sleep(idle_seconds)
    after_idle = snapshot()
    begun = time.monotonic()
    work()
    took = time.monotonic() - begun
    after = snapshot()
    counts = {}
    for key in after:
        idle_rate = (after_idle[key] - before_idle[key]) / idle_seconds
        counts[key] = (after[key] - after_idle[key] - idle_rate * took) / calls
    return counts


# ---- cold starts from a warm zygote ----------------------------------------------------------------


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def zygote_state(marker: str) -> tuple[set[int], bool]:
    """(the function's zygotes, whether any container of it runs). A zygote's children are forked
    containers and share its command line; a container started fresh runs the runtime's __main__."""
    pythons = {p for p in sandbox_pids(marker, ".zygote')") if not _is_bwrap(p)}
    zygotes = {p for p in pythons if _parent(p) not in pythons}
    fresh = [p for p in sandbox_pids(marker, ".__main__')") if not _is_bwrap(p)]
    return zygotes, bool(pythons - zygotes or fresh)


def _is_bwrap(pid: int) -> bool:
    """bwrap's own processes carry the runtime's command line too; a process gone counts as one."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "bwrap"
    except OSError:
        return True


def zygote_cold_calls(http: httpx.Client, runs: int, settle: float = 0.0) -> tuple[list[Timed], int]:
    """Calls of `cold` made when its last container's process has exited but its zygote still waits
    (the zygote's idle window, 2 s here): the container is asleep (scheduler.autoscale), and the call
    wakes it, forking a new process; where it was stopped instead, the call places a new container,
    forked too. With `settle` 0 each call comes the
    moment the last container's process is gone, while the agent and the API still handle its exit;
    with `settle` seconds it comes that much later, as most calls do (the zygote waits 300 s by
    default, its function's containers 60 s). Returns the calls, and how many tries missed the
    window (the zygote was gone, so the call started a fresh sandbox)."""
    calls: list[Timed] = []
    missed = 0
    while len(calls) < runs and missed < runs:
        deadline = time.monotonic() + 60
        while True:
            zygotes, running = zygote_state("app:cold")
            if zygotes and not running:
                break
            if not zygotes and not running:  # gone already: this call starts fresh and brings a zygote back
                break
            if time.monotonic() > deadline:
                raise BenchError("the `cold` container did not scale down within 60 s")
            time.sleep(0.005)
        time.sleep(settle if zygotes else 0.0)
        timed = timed_call(http, "cold", 30)
        if not timed.body["cold_start"]:
            raise BenchError(f"a call after scale-down was served warm: {timed.body}")
        if zygotes and all(Path(f"/proc/{z}").exists() for z in zygotes):
            calls.append(timed)
        else:
            missed += 1
    return calls, missed


# ---- the run ----------------------------------------------------------------------------------


def run(options: argparse.Namespace, state: Path) -> dict[str, Any]:
    stack = Stack(state)
    try:
        stack.start(log)
        assert stack.postgres is not None and stack.redis is not None
        headers = {"Authorization": f"Bearer {stack.token}"}
        figures: list[Figure] = []
        extra: dict[str, Any] = {}
        deploy(stack, APP, SOURCE, MANIFEST)
        with httpx.Client(base_url=stack.url, headers=headers, timeout=70) as http:
            # Warm: the first call starts the container (and fetches the bundle); then warm-ups, then N timed.
            begun = time.perf_counter()
            first = call(http, "noop", 30)
            extra["first_call_after_deploy_ms"] = ms_since(begun)
            extra["first_call_cold_start_ms"] = first["cold_start_ms"]
            log(f"first call {extra['first_call_after_deploy_ms']:.0f} ms (cold start {first['cold_start_ms']} ms)")
            lean = KeepAlive(stack.url, stack.token)
            for _ in range(options.warmup):
                call(lean, "noop", 10)
            warm_calls: list[Timed] = []

            def run_warm() -> None:
                warm_calls.extend(timed_call(lean, "noop", 10) for _ in range(options.calls))

            # The warm container's processes as they are now: the function's zygote, started beside the
            # first container, may come up during the calls and is not the warm container's growth.
            container_pids = sandbox_pids("app:noop")
            rss_before = {**stack.rss_mib(), WARM_CONTAINER: process_rss_mib(container_pids)}
            counts = per_call_counts(stack, options.calls, run_warm, idle_seconds=3.0)
            extra["rss_mib"] = {name: (rss_before[name], mib) for name, mib in stack.rss_mib().items()}
            if options.rss_calls > options.calls:
                more = options.rss_calls - options.calls
                extra["rss_over_calls"] = {
                    "calls": options.rss_calls,
                    "processes": rss_growth(stack, http, more, rss_before, container_pids),
                }
            warm = [t.ms for t in warm_calls]
            containers = {t.body["container_id"] for t in warm_calls}
            if containers != {first["container_id"]}:
                raise BenchError(f"warm calls ran in {len(containers)} containers, not the first call's one")
            extra["per_warm_call"] = counts
            log(f"warm: {options.calls} calls, p50 {statistics.median(warm):.2f} ms")
            warm_httpx = [timed_call(http, "noop", 10).ms for _ in range(options.calls)]
            # The same warm call after the pause the settled zygote runs leave: what waking the processes
            # on the path costs this machine, whatever the call does.
            idle_calls = [idle_then(lambda: timed_call(lean, "noop", 10)) for _ in range(options.cold_runs)]

            # Cold: wait until no sandbox of `cold` is alive, then one call from zero.
            cold_calls: list[Timed] = []
            to_zero: list[float] = []  # seconds from a cold call's answer until no process of it is left
            for i in range(options.cold_runs):
                deadline = time.monotonic() + 60
                while sandbox_pids("app:cold"):
                    if time.monotonic() > deadline:
                        raise BenchError("the `cold` container did not scale to zero within 60 s")
                    time.sleep(0.02)
                if cold_calls:
                    to_zero.append((datetime.now(UTC) - cold_calls[-1].received).total_seconds() * 1000)
                timed = timed_call(http, "cold", 30)
                if not timed.body["cold_start"]:
                    raise BenchError(f"cold run {i} was served warm: {timed.body}")
                cold_calls.append(timed)
            cold = [t.ms for t in cold_calls]
            agent_cold = [float(t.body["cold_start_ms"]) for t in cold_calls]
            forked_calls, missed = zygote_cold_calls(http, options.cold_runs)
            settled_calls, settled_missed = zygote_cold_calls(http, options.cold_runs, settle=ZYGOTE_SETTLE_S)
            extra["zygote_runs_missed"] = missed + settled_missed
            settled = [t.ms for t in settled_calls]
            forked = [t.ms for t in forked_calls]
            agent_forked = [float(t.body["cold_start_ms"]) for t in forked_calls]
            log(f"cold from a warm zygote: {len(forked)} runs ({missed} missed its window)")
            every_cold = cold_calls + forked_calls + settled_calls
            stamps = asyncio.run(container_stamps(stack.postgres.url, [t.body["container_id"] for t in every_cold]))
            extra["woken_asleep"] = {
                name: sum(woke(t, stamps) for t in calls)
                for name, calls in (("cold", cold_calls), ("zygote", forked_calls), ("zygote_settled", settled_calls))
            }
            extra["phases"] = (
                phases("warm", WARM_PHASES, warm_calls, {})
                + cold_phases("cold", cold_calls, stamps)
                + cold_phases("cold, zygote warm", forked_calls, stamps)
                + cold_phases(f"cold, zygote warm, {ZYGOTE_SETTLE_S:g} s after the exit", settled_calls, stamps)
                + phases(f"warm, {ZYGOTE_SETTLE_S:g} s after the previous call", WARM_PHASES, idle_calls, {})
            )
            log(f"cold: {options.cold_runs} runs, p50 {statistics.median(cold):.1f} ms")

            # Floors, in this process, against the same services.
            pg = asyncio.run(postgres_round_trips(stack.postgres.url, options.calls))
            redis_rt = redis_ping_pong(stack.redis.url, options.calls)
            arq_rt = asyncio.run(arq_round_trips(stack.redis.url, options.calls))
            arq_default = asyncio.run(arq_round_trips(stack.redis.url, ARQ_DEFAULT_ROUNDS, ARQ_DEFAULT_POLL, warmup=2))
            http_rt = livez(lean, options.calls)
            http_idle = livez(lean, options.cold_runs, ZYGOTE_SETTLE_S)
            wake = process_round_trips(options.cold_runs, ZYGOTE_SETTLE_S)
            lean.close()
        spawn = asyncio.run(container_floor(options.cold_runs, state))
        log("floors measured")

        warm_target = f"p50 ≤ {TARGETS['warm_p50']:g}, p99 ≤ {TARGETS['warm_p99']:g}"
        cold_target = f"p50 ≤ {TARGETS['cold_p50']:g}"
        figures = [
            Figure("warm", "warm sync invoke: POST …/calls, Prefer: wait=10", warm, warm_target, "livez"),
            Figure("warm_httpx", "warm sync invoke, the same through httpx (the Python SDK's client)", warm_httpx),
            Figure("cold", "cold start: sync call from zero → result", cold, cold_target, "sandbox"),
            Figure("cold_agent", "cold start: agent's `cold_start_ms` (command → ready)", agent_cold, "", "sandbox"),
            Figure(
                "cold_zygote",
                "cold start: sync call from no process, the zygote warm (the container asleep) → result",
                forked,
                "",
                "sandbox",
            ),
            Figure(
                "cold_zygote_settled",
                f"cold start: the same, {ZYGOTE_SETTLE_S:g} s after its last process exited → result",
                settled,
                "",
                "sandbox",
            ),
            Figure(
                "cold_zygote_agent",
                "cold start from the zygote: agent's `cold_start_ms` (input or command → ready)",
                agent_forked,
                "≤ 10",
            ),
            Figure(
                "to_zero",
                "scale to zero: answer → no process left (scaledown_window 2 s, then the zygote's idle 2 s)",
                to_zero,
                "≤ 2 s window + 2 s zygote + 2 s",
            ),
            Figure(
                "warm_after_pause",
                f"warm sync invoke, {ZYGOTE_SETTLE_S:g} s after the previous call (the processes asleep)",
                [t.ms for t in idle_calls],
            ),
            Figure("livez", "floor: GET /livez over keep-alive HTTP (the same lean client)", http_rt),
            Figure(
                "livez_idle",
                f"floor: the same, {ZYGOTE_SETTLE_S:g} s after the previous one (the API's process asleep)",
                http_idle,
            ),
            Figure("wake_hot", "floor: round trip to another process over a socket pair, back to back", wake["hot"]),
            Figure(
                "wake_idle",
                f"floor: the same round trip, {ZYGOTE_SETTLE_S:g} s after the previous one (both processes asleep)",
                wake["idle"],
            ),
            Figure("redis", "floor: Redis LPUSH+BLPOP ping-pong, 2 connections", redis_rt),
            Figure("arq", "floor: arq job round trip, enqueue → result (JSON, polls 1 ms)", arq_rt),
            Figure(
                "arq_default",
                f"floor: the same with arq's default polls ({ARQ_DEFAULT_POLL:g} s)",
                arq_default,
            ),
            Figure("pg_insert", "floor: Postgres INSERT, autocommit (fsync on)", pg["insert"]),
            Figure("pg_select", "floor: Postgres SELECT 1", pg["select"]),
            Figure("sandbox", "floor: sandbox spawn → first result, no control plane", spawn),
        ]
        return {"figures": figures, "extra": extra}
    finally:
        stack.close_uninterrupted()
        log("stopped every process")


WARM_CONTAINER = "the warm container (its processes together)"


def rss_growth(
    stack: Stack, http: httpx.Client, calls: int, before: dict[str, float], container_pids: list[int]
) -> dict[str, Any]:
    """Untimed warm calls after the timed ones; resident memory of each process from before the timed
    calls to after these, in MiB (the warm container's: of `container_pids`, its processes before)."""
    for i in range(calls):
        call(http, "noop", 10)
        if (i + 1) % 5000 == 0:
            log(f"memory: {i + 1} of {calls} more warm calls")
    after = {**stack.rss_mib(), WARM_CONTAINER: process_rss_mib(container_pids)}
    return {
        name: {"before": before[name], "after": mib, "growth": mib - before[name]}
        for name, mib in after.items()
        if name in before
    }


def idle_then(work: Callable[[], Timed]) -> Timed:
    time.sleep(ZYGOTE_SETTLE_S)
    return work()


def process_round_trips(runs: int, pause: float) -> dict[str, list[float]]:
    """One byte to a forked echo process and back: `runs` back to back, and `runs` each after `pause`
    seconds of both processes asleep. The second is what each hop between processes costs after a
    pause on this machine (a virtual CPU that halted wakes slowly), on any call path."""
    ours, theirs = socket.socketpair()
    child = os.fork()
    if child == 0:  # the echo: no Python-level cleanup, no buffered output to flush twice
        ours.close()
        while data := theirs.recv(64):
            theirs.send(data)
        os._exit(0)
    theirs.close()
    found: dict[str, list[float]] = {"hot": [], "idle": []}
    try:
        for kind, gap in (("hot", 0.0), ("idle", pause)):
            for _ in range(runs):
                time.sleep(gap)
                begun = time.perf_counter()
                ours.send(b"x")
                ours.recv(64)
                found[kind].append(ms_since(begun))
    finally:
        ours.close()
        os.waitpid(child, 0)
    return found


async def container_floor(runs: int, state: Path) -> list[float]:
    bundle = state / "floor-bundle"
    bundle.mkdir()
    (bundle / "fn.py").write_text("def main():\n    return None\n")
    python = Path("/usr/bin/python3")
    # as the agent runs sandboxes: as a host uid of the sandbox range, from the runtime's staged files
    run_as = cold_start.RunAs(users.DEFAULT_FIRST_UID, runtime_files.stage(state / "floor-runtime"))
    await cold_start.container_ms(bundle, python, run_as)  # compiles the runtime's .pyc once
    return [(await cold_start.container_ms(bundle, python, run_as))[1] for _ in range(runs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="timed warm calls (and baseline rounds)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed warm calls first")
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument(
        "--rss-calls",
        type=int,
        default=0,
        help="resident memory of each process over this many warm calls (the timed ones, then untimed ones)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep-state", action="store_true", help="keep the state directory (logs) afterwards")
    options = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("bwrap"):
        print("needs root and bubblewrap (the agent runs sandboxes)", file=sys.stderr)
        return 2

    interrupt_on_sigterm()
    state = Path(tempfile.mkdtemp(prefix="skiff-bench-"))
    state.chmod(0o755)  # Postgres runs as an unprivileged user and must reach its data directory
    command = shlex.join(sys.orig_argv)
    started = datetime.now(UTC)
    host = machine()  # before we start anything: the load average says how busy others keep the machine
    try:
        result = run(options, state)
    except KeyboardInterrupt:
        print("interrupted; every process was stopped", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench failed: {exc}\n(logs in {state}; rerun with --keep-state to keep them)", file=sys.stderr)
        return 1
    finally:
        if not options.keep_state:
            shutil.rmtree(state, ignore_errors=True)

    figures: list[Figure] = result["figures"]
    extra = result["extra"]
    print(f"Command: `{command}`  ")
    print(f"Date: {started:%Y-%m-%d %H:%M} UTC, code {host['code']}  ")
    print(
        f"Machine: {host['cpu']}, {host['cores']} cores, kernel {host['kernel']}, Python {host['python']}, "
        f"1-min load average {host['load_average_1m_at_start']} before the run, {os.getloadavg()[0]:.2f} after\n"
    )
    print(render(figures))
    print("\nWhere the time goes (medians of gaps between the transaction start times the rows carry):\n")
    print(render_phases(extra["phases"]))
    counts = extra["per_warm_call"]
    print(
        f"\nFirst call after deploy: {extra['first_call_after_deploy_ms']:.0f} ms "
        f"(cold_start_ms {extra['first_call_cold_start_ms']:.0f}). Per warm call, less the idle platform's own "
        f"traffic: {counts['xact_commit']:.1f} Postgres commits, {counts['tup_inserted']:.1f} rows inserted, "
        f"{counts['tup_updated']:.1f} updated, {counts['wal_records']:.1f} WAL records, "
        f"{counts['redis_commands']:.1f} Redis commands."
    )
    cpu = ", ".join(f"{k.split(':', 1)[1]} {v:.2f}" for k, v in counts.items() if k.startswith("cpu_ms:"))
    print(f"CPU ms per warm call, by process (and its children), less idle: {cpu}.")
    rss = ", ".join(f"{name} {before:.1f} → {after:.1f}" for name, (before, after) in extra["rss_mib"].items())
    print(f"Resident memory (MiB) before → after the {options.calls} warm calls: {rss}.")
    if "rss_over_calls" in extra:
        print(f"\nResident memory over {options.rss_calls} warm calls, one after another:\n")
        print("| process | before MiB | after MiB | growth MiB |\n|---|---:|---:|---:|")
        for name, mib in extra["rss_over_calls"]["processes"].items():
            print(f"| {name} | {mib['before']:.1f} | {mib['after']:.1f} | {mib['growth']:+.1f} |")
    if options.json is not None:
        document = {
            "command": command,
            "date": started.isoformat(),
            "machine": host,
            "options": {
                "calls": options.calls,
                "warmup": options.warmup,
                "cold_runs": options.cold_runs,
                "rss_calls": options.rss_calls,
            },
            "targets_ms": TARGETS,
            "figures": {f.key: {"name": f.name, **f.summary(), "samples_ms": f.samples} for f in figures},
            **extra,
        }
        options.json.write_text(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
