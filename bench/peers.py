"""Peers on the same machine: Ray's no-op task round trip, N tasks at once, and an N-input map
through its multiprocessing Pool. Run by `make bench-peers` with the interpreter of its own venv
(`bench/.venv-peers`, from bench/peers-requirements.txt: Ray's dependencies are not the project's).

    bench/.venv-peers/bin/python bench/peers.py [--calls 2000] [--tasks 10000] [--runs 3] [--json FILE]

Each figure is measured once per run; the table shows the median of the runs and their spread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
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


def measure(options: argparse.Namespace) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {"p50_ms": [], "p99_ms": [], "at_once_s": [], "pool_map_s": []}
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
                print(f"run {run + 1} of {options.runs} done", file=sys.stderr, flush=True)
    finally:
        ray.shutdown()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=10_000)
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
    ]
    print(table(["figure", "value"], rows))
    write_json(
        options.json,
        header.document(
            peer=f"Ray {ray.__version__}, num_cpus=2",
            calls=options.calls,
            tasks=options.tasks,
            figures={
                "round_trip_p50_ms": figures["p50_ms"].summary(),
                "round_trip_p99_ms": figures["p99_ms"].summary(),
                "at_once_s": figures["at_once_s"].summary(),
                "at_once_per_s": rate.summary(),
                "pool_map_s": figures["pool_map_s"].summary(),
            },
        ),
    )


if __name__ == "__main__":
    main()
