"""Fan-out over real processes: `Function.map` of N no-op inputs through the SDK, on a warm pool and
from zero containers, with the same stack as `core_loop.py` (Postgres with fsync, Redis, the API,
the scheduler and one agent).

    .venv/bin/python bench/fan_out.py [--inputs 10000] [--runs 3] [--json FILE]

Prints the wall time from the first request to the last result, and inputs per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_loop import BenchError, Stack, sandbox_pids

import skiff
from tests.bundles import make_bundle

APP = "fanout"
SOURCE = "def noop(x):\n    return x\n"
MANIFEST = """
[functions.noop]
handler = "app:noop"
max_containers = 8
scaledown_window = 2
cpu = 0.25
memory = 128
"""


def timed_map(fn: skiff.Function[..., Any], inputs: int) -> float:
    begun = time.perf_counter()
    results = list(fn.map(range(inputs)))
    took = time.perf_counter() - begun
    if results != list(range(inputs)):
        raise BenchError("the map's results are not its inputs in order")
    return took


def wait_for_zero(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while sandbox_pids("app:noop"):
        if time.monotonic() > deadline:
            raise BenchError("the function did not scale to zero")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="skiff-fanout-"))
    state.chmod(0o755)  # Postgres runs as its own user and must reach it
    stack = Stack(state)
    try:
        stack.start(lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True))
        headers = {"Authorization": f"Bearer {stack.token}"}
        deployed = httpx.post(
            f"{stack.url}/v1/apps/{APP}/deployments", content=make_bundle({"app.py": SOURCE}, MANIFEST), headers=headers
        )
        if deployed.status_code not in (200, 201):
            raise BenchError(f"deploy answered {deployed.status_code}: {deployed.text[:300]}")
        os.environ["SKIFF_URL"], os.environ["SKIFF_TOKEN"] = stack.url, stack.token
        fn = skiff.Function.from_name(APP, "noop")
        from_zero, warm = [], []
        for _ in range(options.runs):
            wait_for_zero()
            from_zero.append(timed_map(fn, options.inputs))
            warm.append(timed_map(fn, options.inputs))  # right after: the pool the first map grew is warm
    finally:
        stack.close()
    rows = [("from zero containers", from_zero), ("warm pool (right after)", warm)]
    print(f"\nmap of {options.inputs} no-op inputs through the SDK, {options.runs} runs each\n")
    print("| figure | median s | min s | max s | inputs/s (median) |\n|---|---:|---:|---:|---:|")
    for name, samples in rows:
        median = statistics.median(samples)
        print(f"| {name} | {median:.2f} | {min(samples):.2f} | {max(samples):.2f} | {options.inputs / median:.0f} |")
    if options.json is not None:
        options.json.write_text(json.dumps({"inputs": options.inputs, "from_zero_s": from_zero, "warm_s": warm}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
