"""Peers on the same machine: Ray's no-op task round trip, N tasks at once, an N-input map through its
multiprocessing Pool, and 32 clients (threads of the driver) each submitting a task and waiting for it,
over and over, as bench/throughput.py's 32 HTTP clients do with Skiff. Run by `make bench-peers` with the
interpreter of its own venv (`bench/.venv-peers`, from bench/peers-requirements.txt: Ray's dependencies
are not the project's).

    bench/.venv-peers/bin/python bench/peers.py [--calls 2000] [--tasks 10000] [--clients 32]
        [--client-calls 5000] [--runs 3] [--json FILE]

Each figure is measured once per run; the table shows the median of the runs and their spread.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ray
from ray.util.multiprocessing import Pool

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import Header, Runs, percentile, table, write_json


@ray.remote
def noop(x: int) -> int:
    return x


def identity(x: int) -> int:
    return x


def clients_rate(clients: int, calls: int) -> float:
    """Calls per second of `clients` threads, each submitting a no-op task and waiting for its result
    until `calls` have been made in all."""
    counter = itertools.count()

    def client() -> None:
        while next(counter) < calls:
            ray.get(noop.remote(0))

    begun = time.perf_counter()
    with ThreadPoolExecutor(clients) as threads:
        for done in [threads.submit(client) for _ in range(clients)]:
            done.result()
    return calls / (time.perf_counter() - begun)


def measure(options: argparse.Namespace) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {"p50_ms": [], "p99_ms": [], "at_once_s": [], "pool_map_s": [], "clients": []}
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        for i in range(100):  # warm-up: workers started, functions exported
            ray.get(noop.remote(i))
        with Pool(processes=2) as pool:
            pool.map(identity, range(100))
            for run in range(options.runs):
                samples = []
                for i in range(options.calls):
                    begun = time.perf_counter()
                    ray.get(noop.remote(i))
                    samples.append((time.perf_counter() - begun) * 1000)
                runs["p50_ms"].append(statistics.median(samples))
                runs["p99_ms"].append(percentile(samples, 99))
                begun = time.perf_counter()
                ray.get([noop.remote(i) for i in range(options.tasks)])
                runs["at_once_s"].append(time.perf_counter() - begun)
                begun = time.perf_counter()
                pool.map(identity, range(options.tasks))
                runs["pool_map_s"].append(time.perf_counter() - begun)
                runs["clients"].append(clients_rate(options.clients, options.client_calls))
                print(f"run {run + 1} of {options.runs} done", file=sys.stderr, flush=True)
    finally:
        ray.shutdown()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-calls", type=int, default=5000, help="calls of the clients together, per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    header = Header()
    figures = {key: Runs(values) for key, values in measure(options).items()}
    rate = Runs([options.tasks / s for s in figures["at_once_s"].values])
    print(header.text())
    print(f"Ray {ray.__version__}, num_cpus=2, {options.runs} runs: the median, then the lowest and highest run\n")
    rows = [
        [f"no-op task round trip, {options.calls} sequential: p50 ms", figures["p50_ms"].text(2)],
        [f"no-op task round trip, {options.calls} sequential: p99 ms", figures["p99_ms"].text(2)],
        [f"{options.tasks} no-op tasks at once: s", figures["at_once_s"].text(2)],
        [f"{options.tasks} no-op tasks at once: tasks/s", rate.text()],
        [f"map of {options.tasks} inputs, multiprocessing Pool: s", figures["pool_map_s"].text(2)],
        [
            f"{options.clients} clients, each submit then wait, {options.client_calls} calls: calls/s",
            figures["clients"].text(),
        ],
    ]
    print(table(["figure", "value"], rows))
    write_json(
        options.json,
        header.document(
            peer=f"Ray {ray.__version__}, num_cpus=2",
            calls=options.calls,
            tasks=options.tasks,
            clients=options.clients,
            client_calls=options.client_calls,
            figures={
                "round_trip_p50_ms": figures["p50_ms"].summary(),
                "round_trip_p99_ms": figures["p99_ms"].summary(),
                "at_once_s": figures["at_once_s"].summary(),
                "at_once_per_s": rate.summary(),
                "pool_map_s": figures["pool_map_s"].summary(),
                "clients_calls_per_s": figures["clients"].summary(),
            },
        ),
    )


if __name__ == "__main__":
    main()
