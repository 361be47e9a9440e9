"""Peers on the same machine: Ray's no-op task round trip, 10,000 tasks at once, and a 10,000-input
map through its multiprocessing Pool. Run by `make bench-peers` with the interpreter of its own venv
(`bench/.venv-peers`, from bench/peers-requirements.txt: Ray's dependencies are not the project's).

    bench/.venv-peers/bin/python bench/peers.py [--calls 2000] [--tasks 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import ray
from ray.util.multiprocessing import Pool


@ray.remote
def noop(x: int) -> int:
    return x


def identity(x: int) -> int:
    return x


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=10_000)
    options = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        for i in range(100):  # warm-up: workers started, functions exported
            ray.get(noop.remote(i))
        samples = []
        for i in range(options.calls):
            begun = time.perf_counter()
            ray.get(noop.remote(i))
            samples.append((time.perf_counter() - begun) * 1000)
        begun = time.perf_counter()
        ray.get([noop.remote(i) for i in range(options.tasks)])
        tasks_s = time.perf_counter() - begun
        with Pool(processes=2) as pool:
            pool.map(identity, range(100))
            begun = time.perf_counter()
            pool.map(identity, range(options.tasks))
            map_s = time.perf_counter() - begun
    finally:
        ray.shutdown()
    print(f"\nRay {ray.__version__}, num_cpus=2, same machine\n")
    print("| figure | value |\n|---|---:|")
    print(
        f"| no-op task round trip, {options.calls} sequential: p50 / p99 ms | "
        f"{statistics.median(samples):.2f} / {percentile(samples, 0.99):.2f} |"
    )
    print(f"| {options.tasks} no-op tasks at once: s (tasks/s) | {tasks_s:.2f} ({options.tasks / tasks_s:.0f}) |")
    print(f"| map of {options.tasks} inputs, multiprocessing Pool: s | {map_s:.2f} |")


if __name__ == "__main__":
    main()
