"""Celery with Redis on the same machine, a peer: a no-op task's round trip, one after another, and
N no-op tasks at once. Run by `make bench-celery` with the interpreter of its own venv
(`bench/.venv-celery`, from bench/celery-requirements.txt: Celery needs a redis-py that arq, in the
project's venv, does not accept).

    bench/.venv-celery/bin/python bench/celery_peer.py [--calls 2000] [--tasks 10000] [--runs 3]
        [--pool prefork] [--concurrency 2] [--json FILE]

Starts a throwaway redis-server (the broker and the result backend) and one Celery worker, by default
the prefork pool with 2 processes: as many as the machine's cores, as Ray gets `num_cpus=2`. JSON
messages, Celery's default prefetch (4 per process) and acknowledgement (before the task runs).

- round trip: `noop.delay(x).get()`, sequential; the result comes back over Redis pub/sub;
- at once: a `group` of N `noop.s(x)` sent, then its results collected (`GroupResult.get`), from the
  first message sent to the last result.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import celery
from celery import Celery, group
from report import Header, Runs, percentile, table, write_json

BENCH = Path(__file__).resolve().parent
# The worker imports this module too: it finds its broker in the environment the bench gives it.
app = Celery("celery_peer")
app.conf.update(
    broker_url=os.environ.get("CELERY_PEER_REDIS", "redis://127.0.0.1:6379/0"),
    result_backend=os.environ.get("CELERY_PEER_REDIS", "redis://127.0.0.1:6379/0"),
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


@app.task(name="celery_peer.noop")  # the same name whether this module runs as __main__ or in the worker
def noop(x: int) -> int:
    return x


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(state: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of our own with the flags of the project's `RedisServer` (not imported: this
    venv does not hold the project)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(state), "--save", ""]
    argv += ["--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
    with (state / "redis.log").open("wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return server, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"redis-server did not listen on {port}: {(state / 'redis.log').read_text()[-1000:]}")


def start_worker(state: Path, redis_url: str, pool: str, concurrency: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "celery", "-A", "celery_peer", "worker", "--pool", pool]
    argv += ["--concurrency", str(concurrency), "--loglevel", "WARNING"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    env = {**os.environ, "CELERY_PEER_REDIS": redis_url, "PYTHONPATH": str(BENCH)}
    with (state / "worker.log").open("wb") as log:
        return subprocess.Popen(argv, cwd=BENCH, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # Celery's warm shutdown
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def round_trips(calls: int) -> list[float]:
    samples = []
    for x in range(calls):
        begun = time.perf_counter()
        if noop.delay(x).get(timeout=10) != x:
            raise RuntimeError("a task's result is not its input")
        samples.append((time.perf_counter() - begun) * 1000)
    return samples


def at_once(tasks: int) -> tuple[float, float]:
    """Seconds from the first message sent to the last result, and of those, to the last message sent."""
    begun = time.perf_counter()
    sent = group(noop.s(x) for x in range(tasks)).apply_async()
    sending = time.perf_counter() - begun
    results = sent.get(timeout=600)
    took = time.perf_counter() - begun
    if results != list(range(tasks)):
        raise RuntimeError("the group's results are not its inputs in order")
    return took, sending


def measure(options: argparse.Namespace, state: Path) -> dict[str, list[float]]:
    server, redis_url = start_redis(state)
    worker = None
    try:
        app.conf.update(broker_url=redis_url, result_backend=redis_url)
        worker = start_worker(state, redis_url, options.pool, options.concurrency)
        noop.delay(0).get(timeout=60)  # the worker is up once it answers
        round_trips(100)  # warm-up: connections, the worker's processes
        at_once(min(options.tasks, 1000))
        runs: dict[str, list[float]] = {"p50_ms": [], "p99_ms": [], "at_once_s": [], "sending_s": []}
        for run in range(options.runs):
            samples = round_trips(options.calls)
            runs["p50_ms"].append(statistics.median(samples))
            runs["p99_ms"].append(percentile(samples, 99))
            took, sending = at_once(options.tasks)
            runs["at_once_s"].append(took)
            runs["sending_s"].append(sending)
            print(
                f"run {run + 1} of {options.runs}: round trip p50 {runs['p50_ms'][-1]:.2f} ms, "
                f"{options.tasks} at once {runs['at_once_s'][-1]:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        return runs
    finally:
        if worker is not None:
            stop(worker)
        stop(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="sequential round trips per run")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks at once, per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's processes (threads)")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    header = Header()
    state = Path(tempfile.mkdtemp(prefix="skiff-celery-"))
    try:
        runs = measure(options, state)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    figures: dict[str, Runs] = {key: Runs(values) for key, values in runs.items()}
    rate = Runs([options.tasks / s for s in runs["at_once_s"]])
    pool = f"{options.pool} pool, concurrency {options.concurrency}"
    print(header.text())
    print(f"Celery {celery.__version__} with Redis, one worker ({pool}), {options.runs} runs: the median, then")
    print("the lowest and highest run\n")
    rows = [
        [f"no-op task round trip, {options.calls} sequential: p50 ms", figures["p50_ms"].text(2)],
        [f"no-op task round trip, {options.calls} sequential: p99 ms", figures["p99_ms"].text(2)],
        [f"{options.tasks} no-op tasks at once (a group): s", figures["at_once_s"].text(2)],
        [f"{options.tasks} no-op tasks at once (a group): tasks/s", rate.text()],
        [f"{options.tasks} no-op tasks at once: of the s, sending them", figures["sending_s"].text(2)],
    ]
    print(table(["figure", "value"], rows))
    document: dict[str, Any] = header.document(
        peer=f"Celery {celery.__version__}, {pool}",
        calls=options.calls,
        tasks=options.tasks,
        figures={
            "round_trip_p50_ms": figures["p50_ms"].summary(),
            "round_trip_p99_ms": figures["p99_ms"].summary(),
            "at_once_s": figures["at_once_s"].summary(),
            "at_once_per_s": rate.summary(),
            "at_once_sending_s": figures["sending_s"].summary(),
        },
    )
    write_json(options.json, document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
