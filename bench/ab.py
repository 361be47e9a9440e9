"""Warm sync calls of two (or more) checkouts, their whole stacks up side by side and timed in alternating
blocks, so that a change is measured against its base on the same machine in the same seconds.

    git worktree add /tmp/base <base-commit>
    .venv/bin/python bench/ab.py /tmp/base . [--blocks 30] [--block 100]

Each checkout's stack is its own bench/stack.py and code (API, scheduler, agent, Postgres, Redis). All
are started, each deploys bench/core_loop.py's no-op function and is warmed up; then blocks of
sequential `Prefer: wait` calls (through core_loop's lean keep-alive client) go to each checkout in turn
until every one has had `--blocks` blocks. A machine's slow spell then falls on all of them alike, which
timing them one after another does not give (this machine's speed drifts 20-30 % over minutes).

Prints per checkout: p50, p99 and max of its calls, and CPU milliseconds per call of its API and its
Postgres (from /proc, over its blocks only).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any


@dataclass
class Side:
    root: Path
    stack_module: ModuleType
    core_loop: ModuleType
    stack: Any = None
    http: Any = None
    samples: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=lambda: {"api": 0.0, "postgres": 0.0})

    def cpu_now(self) -> dict[str, float]:
        groups = self.stack.process_groups()
        return {name: self.stack_module.cpu_seconds(groups[name]) for name in self.cpu}


def load(root: Path) -> Side:
    """The checkout's own bench modules (its stack starts its own code)."""
    for name in ("stack", "core_loop", "report", "cold_start"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(root / "bench"))
    try:
        return Side(root, importlib.import_module("stack"), importlib.import_module("core_loop"))
    finally:
        sys.path.pop(0)


def start(side: Side, warm_calls: int) -> None:
    state = Path(tempfile.mkdtemp())
    state.chmod(0o755)  # Postgres runs as its own user
    side.stack = side.stack_module.Stack(state)
    side.stack.start(lambda _: None)
    side.stack_module.deploy(side.stack, side.core_loop.APP, side.core_loop.SOURCE, side.core_loop.MANIFEST)
    side.http = side.core_loop.KeepAlive(side.stack.url, side.stack.token)
    side.core_loop.call(side.http, "noop", 30)
    for _ in range(warm_calls):
        side.core_loop.call(side.http, "noop", 10)


def block(side: Side, calls: int) -> None:
    before = side.cpu_now()
    for _ in range(calls):
        begun = time.perf_counter()
        side.core_loop.call(side.http, "noop", 10)
        side.samples.append((time.perf_counter() - begun) * 1000)
    after = side.cpu_now()
    for name in side.cpu:
        side.cpu[name] += after[name] - before[name]


def report(side: Side) -> str:
    samples = sorted(side.samples)
    n = len(samples)
    per_call = {name: seconds * 1000 / n for name, seconds in side.cpu.items()}
    return (
        f"{side.root}: {n} calls, p50 {statistics.median(samples):.2f} ms, p99 {samples[int(n * 0.99)]:.2f}, "
        f"max {samples[-1]:.2f}; CPU per call: api {per_call['api']:.3f} ms, postgres {per_call['postgres']:.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--blocks", type=int, default=30, help="blocks per checkout")
    parser.add_argument("--block", type=int, default=100, help="calls per block")
    parser.add_argument("--warm-calls", type=int, default=300)
    options = parser.parse_args()
    sides = [load(root.resolve()) for root in options.checkouts]
    try:
        for side in sides:
            start(side, options.warm_calls)
        for number in range(options.blocks):
            # Who goes first alternates too: the first block after a pause is not always the same side's.
            for side in sides if number % 2 == 0 else reversed(sides):
                block(side, options.block)
    finally:
        for side in sides:
            if side.http is not None:
                side.http.close()
            if side.stack is not None:
                side.stack.close()
    for side in sides:
        print(report(side))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
