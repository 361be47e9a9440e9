"""Fan-out over real processes: `Function.map` of N no-op inputs through the SDK, on a warm pool and
from zero containers, with the same stack as `core_loop.py` (Postgres with fsync, Redis, the API,
the scheduler and one agent).

    .venv/bin/python bench/fan_out.py [--inputs 10000] [--runs 3] [--json FILE]

Prints the wall time from the first request to the last result, and inputs per second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import Header, Runs, table, write_json
from stack import BenchError, Stack, deploy, interrupt_on_sigterm, log, sandbox_pids

import skiff

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


def wait_for_zero(timeout: float = 60, marker: str = "app:noop") -> None:
    deadline = time.monotonic() + timeout
    while sandbox_pids(marker):
        if time.monotonic() > deadline:
            raise BenchError("the function did not scale to zero")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    header = Header()
    interrupt_on_sigterm()
    state = Path(tempfile.mkdtemp(prefix="skiff-fanout-"))
    state.chmod(0o755)  # Postgres runs as its own user and must reach it
    stack = Stack(state)
    try:
        stack.start(log)
        deploy(stack, APP, SOURCE, MANIFEST)
        os.environ["SKIFF_URL"], os.environ["SKIFF_TOKEN"] = stack.url, stack.token
        fn = skiff.Function.from_name(APP, "noop")
        from_zero, warm = [], []
        for run in range(options.runs):
            wait_for_zero()
            from_zero.append(timed_map(fn, options.inputs))
            warm.append(timed_map(fn, options.inputs))  # right after: the pool the first map grew is warm
            log(f"run {run + 1} of {options.runs}: from zero {from_zero[-1]:.2f} s, warm {warm[-1]:.2f} s")
    except KeyboardInterrupt:
        print("interrupted; every process was stopped", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close_uninterrupted()
        shutil.rmtree(state, ignore_errors=True)
    rows = [("from zero containers", Runs(from_zero)), ("warm pool (right after)", Runs(warm))]
    print(header.text())
    print(
        f"map of {options.inputs} no-op inputs through the SDK, {options.runs} runs each: median (lowest to highest)\n"
    )
    print(
        table(
            ["figure", "s", "inputs/s"],
            [[name, runs.text(2), Runs([options.inputs / v for v in runs.values]).text()] for name, runs in rows],
        )
    )
    write_json(
        options.json,
        header.document(
            inputs=options.inputs,
            runs=options.runs,
            from_zero_s=from_zero,
            warm_s=warm,
            figures={
                "map_from_zero_s": Runs(from_zero).summary(),
                "map_warm_s": Runs(warm).summary(),
            },
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
