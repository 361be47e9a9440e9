"""Placement, as a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.placement import (
    IdleContainer,
    NodeSnapshot,
    Placement,
    Request,
    choose_node,
    make_room,
    why_unplaced,
)

CPU_SMALL = NodeSnapshot(id="cpu-small", cpu_free=2, memory_free_mib=4096, cpu_total=4)
CPU_BIG = NodeSnapshot(id="cpu-big", cpu_free=30, memory_free_mib=65536, cpu_total=32)
H100X2 = NodeSnapshot(id="h100", cpu_free=16, memory_free_mib=131072, gpus_free={"H100": 2}, cpu_total=16)
A100 = NodeSnapshot(id="a100", cpu_free=16, memory_free_mib=131072, gpus_free={"A100-80GB": 1}, cpu_total=16)
LABELLED = NodeSnapshot(id="eu", cpu_free=8, memory_free_mib=8192, labels={"zone": "eu"}, cpu_total=8)
CACHED = NodeSnapshot(id="cached", cpu_free=30, memory_free_mib=65536, cpu_total=32, cached_images=frozenset({"img"}))
ZYGOTE = NodeSnapshot(id="zygote", cpu_free=30, memory_free_mib=65536, cpu_total=32, warm_zygotes=frozenset({"fn"}))


@pytest.mark.parametrize(
    ("request_", "nodes", "expected"),
    [
        (Request(cpu=1, memory_mib=512), [], None),
        (Request(cpu=4, memory_mib=512), [CPU_SMALL], None),
        (Request(cpu=1, memory_mib=8192), [CPU_SMALL], None),
        # pack: the fuller node that fits wins
        (Request(cpu=1, memory_mib=512), [CPU_BIG, CPU_SMALL], Placement("cpu-small", None)),
        # CPU work avoids GPU nodes when a plain node fits
        (Request(cpu=1, memory_mib=512), [H100X2, CPU_BIG], Placement("cpu-big", None)),
        (
            Request(cpu=1, memory_mib=512, gpus=(("H100", 1),)),
            [CPU_BIG, A100, H100X2],
            Placement("h100", "H100", 1),
        ),
        (Request(cpu=1, memory_mib=512, gpus=(("H100", 3),)), [H100X2], None),
        # fallbacks in order of preference
        (
            Request(cpu=1, memory_mib=512, gpus=(("H200", 1), ("A100-80GB", 1))),
            [H100X2, A100],
            Placement("a100", "A100-80GB", 1),
        ),
        (
            Request(cpu=1, memory_mib=512, gpus=(("any", 2),)),
            [A100, H100X2],
            Placement("h100", "H100", 2),
        ),
        (Request(cpu=1, memory_mib=512, labels={"zone": "eu"}), [CPU_BIG, LABELLED], Placement("eu", None)),
        (Request(cpu=1, memory_mib=512, labels={"zone": "us"}), [CPU_BIG, LABELLED], None),
        # warmth beats packing
        (Request(cpu=1, memory_mib=512, image_key="img"), [CPU_SMALL, CACHED], Placement("cached", None)),
        (
            Request(cpu=1, memory_mib=512, image_key="img", function_id="fn"),
            [CACHED, ZYGOTE],
            Placement("zygote", None),
        ),
        (
            Request(cpu=1, memory_mib=512, image_key="img", function_id="other"),
            [CACHED, ZYGOTE],
            Placement("cached", None),
        ),
    ],
)
def test_choose_node(request_: Request, nodes: list[NodeSnapshot], expected: Placement | None) -> None:
    assert choose_node(request_, nodes) == expected


def _idle(cid: str, node: str, minutes_ago: int, cpu: float = 1.0) -> IdleContainer:
    return IdleContainer(
        id=cid,
        node_id=node,
        cpu=cpu,
        memory_mib=512,
        idle_since=datetime(2026, 1, 1, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago),
    )


@pytest.mark.parametrize(
    ("nodes", "idle", "expected"),
    [
        # nothing idle: no room can be made
        ([NodeSnapshot(id="n", cpu_free=0, memory_free_mib=4096, cpu_total=2)], [], None),
        # the longest idle container goes first, and only as many as needed
        (
            [NodeSnapshot(id="n", cpu_free=0, memory_free_mib=4096, cpu_total=2)],
            [_idle("recent", "n", 1), _idle("old", "n", 30)],
            (Placement("n", None), ("old",)),
        ),
        # two must go when each frees half of what is needed
        (
            [NodeSnapshot(id="n", cpu_free=0, memory_free_mib=4096, cpu_total=2)],
            [_idle("a", "n", 5, cpu=0.5), _idle("b", "n", 9, cpu=0.5)],
            (Placement("n", None), ("b", "a")),
        ),
        # the node needing the fewest stops wins
        (
            [
                NodeSnapshot(id="x", cpu_free=0, memory_free_mib=4096, cpu_total=2),
                NodeSnapshot(id="y", cpu_free=0.5, memory_free_mib=4096, cpu_total=2),
            ],
            [_idle("x1", "x", 50, cpu=0.5), _idle("x2", "x", 40, cpu=0.5), _idle("y1", "y", 1, cpu=0.5)],
            (Placement("y", None), ("y1",)),
        ),
        # not enough to free anywhere
        ([NodeSnapshot(id="n", cpu_free=0, memory_free_mib=4096, cpu_total=2)], [_idle("a", "n", 5, cpu=0.25)], None),
    ],
)
def test_make_room(
    nodes: list[NodeSnapshot], idle: list[IdleContainer], expected: tuple[Placement, tuple[str, ...]] | None
) -> None:
    assert make_room(Request(cpu=1, memory_mib=512), nodes, idle) == expected


JOINS = "its calls wait until one joins"


@pytest.mark.parametrize(
    ("request_", "empty", "expected"),
    [
        (Request(cpu=1, memory_mib=512), [], "no node is ready: " + JOINS),
        (Request(cpu=1, memory_mib=512), [CPU_SMALL], "the nodes that can run it are full: its calls wait for room"),
        (
            Request(cpu=1, memory_mib=512, gpus=(("H200", 1), ("A100-80GB", 2))),
            [CPU_BIG, H100X2, A100],
            f"no ready node has GPUs H200:1 or A100-80GB:2 (the most one has: A100-80GB:1, H100:2): {JOINS}",
        ),
        (
            Request(cpu=1, memory_mib=512, gpus=(("any", 1),)),
            [CPU_BIG],
            f"no ready node has GPUs any:1 (the most one has: no GPU): {JOINS}",
        ),
        (
            Request(cpu=1, memory_mib=65537),
            [CPU_SMALL, CPU_BIG],
            f"no ready node has 65537 MiB of memory (the most one has: 65536 MiB): {JOINS}",
        ),
        (Request(cpu=31.5, memory_mib=512), [CPU_BIG], f"no ready node has 31.5 CPUs (the most one has: 30): {JOINS}"),
        # each is somewhere, never together
        (
            Request(cpu=20, memory_mib=100_000),
            [CPU_BIG, H100X2],
            f"no ready node has all it asks for on one node: {JOINS}",
        ),
        (
            Request(cpu=1, memory_mib=512, labels={"zone": "us"}),
            [LABELLED],
            f"no ready node has all it asks for on one node: {JOINS}",
        ),
    ],
)
def test_why_unplaced(request_: Request, empty: list[NodeSnapshot], expected: str) -> None:
    assert why_unplaced(request_, empty) == expected
