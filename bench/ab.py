"""Warm sync calls of two (or more) checkouts, their stacks started in turn in one run, so that a change
is measured against its base on the same machine at the same time.

    git worktree add /tmp/base <base-commit>
    .venv/bin/python bench/ab.py /tmp/base . [--rounds 2] [--calls 800]

Each round starts each checkout's own stack (its bench/stack.py and code: API, scheduler, agent,
Postgres, Redis), deploys bench/core_loop.py's no-op function, warms it up, and times sequential
`Prefer: wait` calls through httpx; prints p50/p90/p99 per round and the median p50 per checkout.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx


def one_round(root: Path, calls: int) -> tuple[float, float, float]:
    for name in ("stack", "core_loop", "report", "cold_start"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(root / "bench"))
    try:
        stack_module = importlib.import_module("stack")
        core_loop = importlib.import_module("core_loop")
    finally:
        sys.path.pop(0)
    state = Path(tempfile.mkdtemp())
    state.chmod(0o755)  # Postgres runs as its own user
    stack = stack_module.Stack(state)
    try:
        stack.start(lambda _: None)
        stack_module.deploy(stack, core_loop.APP, core_loop.SOURCE, core_loop.MANIFEST)
        headers = {"Authorization": f"Bearer {stack.token}"}
        with httpx.Client(base_url=stack.url, headers=headers, timeout=70) as http:
            core_loop.call(http, "noop", 30)
            for _ in range(300):
                core_loop.call(http, "noop", 10)
            samples = []
            for _ in range(calls):
                begun = time.perf_counter()
                core_loop.call(http, "noop", 10)
                samples.append((time.perf_counter() - begun) * 1000)
    finally:
        stack.close()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)], samples[int(len(samples) * 0.99)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=800)
    options = parser.parse_args()
    roots = [c.resolve() for c in options.checkouts]
    p50s: dict[Path, list[float]] = {root: [] for root in roots}
    for round_no in range(options.rounds):
        for root in roots:
            p50, p90, p99 = one_round(root, options.calls)
            p50s[root].append(p50)
            load = os.getloadavg()[0]
            print(f"{root} round {round_no}: p50 {p50:.2f} p90 {p90:.2f} p99 {p99:.2f} ms (load {load:.2f})")
    for root in roots:
        print(f"{root}: median p50 over {options.rounds} rounds {statistics.median(p50s[root]):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
