"""The placement decision alone: one call's container on a snapshot of N nodes (the pure core in
scheduler/placement.py, no IO), and making room by stopping idle containers when nothing fits.

    .venv/bin/python bench/placement.py [--nodes 100] [--rounds 2000]

The snapshot mixes CPU-only and GPU nodes with labels, cached environments and warm zygotes, so
every filter and every term of the score does work.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.placement import IdleContainer, NodeSnapshot, Request, choose_node, make_room

GPU_MODELS = ("H100", "H200", "A100-80GB", "L4")


def snapshot(count: int, rng: random.Random) -> list[NodeSnapshot]:
    nodes = []
    for index in range(count):
        gpus = {rng.choice(GPU_MODELS): rng.choice((1, 2, 4, 8))} if index % 3 == 0 else {}
        nodes.append(
            NodeSnapshot(
                id=f"node-{index:04d}",
                cpu_free=rng.uniform(0, 64),
                memory_free_mib=rng.randrange(0, 512 * 1024),
                gpus_free=gpus,
                labels={"zone": f"zone-{index % 4}", "tier": "gpu" if gpus else "cpu"},
                cached_images=frozenset(f"img-{rng.randrange(50)}" for _ in range(5)),
                warm_zygotes=frozenset(f"fn-{rng.randrange(200)}" for _ in range(10)),
                cpu_total=64,
            )
        )
    return nodes


def timed_us(decide: object, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        begun = time.perf_counter()
        decide()  # type: ignore[operator]
        samples.append((time.perf_counter() - begun) * 1e6)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2000)
    options = parser.parse_args()
    rng = random.Random(7)
    nodes = snapshot(options.nodes, rng)
    cpu = Request(cpu=2, memory_mib=4096, image_key="img-3", function_id="fn-42", labels={"zone": "zone-1"})
    gpu = Request(cpu=8, memory_mib=65536, gpus=(("H100", 2), ("A100-80GB", 2)), image_key="img-9")
    full = [NodeSnapshot(id=n.id, cpu_free=0.5, memory_free_mib=512, cpu_total=64) for n in nodes]
    now = datetime.now(UTC)
    idle = [
        IdleContainer(
            id=f"ctr-{i}",
            node_id=nodes[i % len(nodes)].id,
            cpu=1,
            memory_mib=2048,
            idle_since=now - timedelta(seconds=rng.randrange(600)),
        )
        for i in range(options.nodes * 4)
    ]
    rows = [
        ("CPU container, labels and warmth", timed_us(lambda: choose_node(cpu, nodes), options.rounds)),
        ("GPU container with a fallback model", timed_us(lambda: choose_node(gpu, nodes), options.rounds)),
        (
            f"nothing fits: make room among {len(idle)} idle containers",
            timed_us(lambda: make_room(cpu, full, idle), max(options.rounds // 10, 10)),
        ),
    ]
    print(f"\nplacement of one container on {options.nodes} nodes ({options.rounds} rounds; target ≤ 1 ms)\n")
    print("| decision | p50 µs | p99 µs |\n|---|---:|---:|")
    for name, samples in rows:
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"| {name} | {statistics.median(samples):.0f} | {p99:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
