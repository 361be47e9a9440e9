"""Where a new container runs. Pure: a request and a snapshot of nodes in, a node id (or None) out.

Feasibility first (CPU, memory, GPU model and count, labels), then a score: pack nodes tightly,
and prefer one that already holds the function's environment or a warm zygote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

ANY_GPU = "any"
UNTIL_ONE_JOINS = "its calls wait until one joins"


@dataclass(frozen=True)
class Request:
    cpu: float
    memory_mib: int
    # Acceptable (model, count) shapes in order of preference, e.g. (("H100", 2), ("any", 4)); empty for CPU.
    gpus: tuple[tuple[str, int], ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    image_key: str = ""
    function_id: str = ""


@dataclass(frozen=True)
class NodeSnapshot:
    id: str
    cpu_free: float
    memory_free_mib: int
    # Free GPUs by model.
    gpus_free: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    # Environments built on the node, and functions with a warm zygote there.
    cached_images: frozenset[str] = frozenset()
    warm_zygotes: frozenset[str] = frozenset()
    cpu_total: float = 1.0


@dataclass(frozen=True)
class Placement:
    node_id: str
    gpu_model: str | None
    gpu_count: int = 0


def gpu_fit(request: Request, node: NodeSnapshot) -> tuple[str, int] | bool | None:
    """The (model, count) this node would give (None for CPU requests), or False when it cannot."""
    if not request.gpus:
        return None
    for model, count in request.gpus:
        if model == ANY_GPU:
            best = max(node.gpus_free.items(), key=lambda item: item[1], default=(None, 0))
            if best[0] is not None and best[1] >= count:
                return best[0], count
        elif node.gpus_free.get(model, 0) >= count:
            return model, count
    return False


def feasible(request: Request, node: NodeSnapshot) -> bool:
    return (
        node.cpu_free >= request.cpu
        and node.memory_free_mib >= request.memory_mib
        and all(node.labels.get(k) == v for k, v in request.labels.items())
        and gpu_fit(request, node) is not False
    )


def why_unplaced(request: Request, empty: Sequence[NodeSnapshot]) -> str:
    """Why no node took the request, for its function's callers; `empty` holds the ready nodes as they
    would be with nothing running. The first thing no node has is named, else they are only full."""
    if not empty:
        return f"no node is ready: {UNTIL_ONE_JOINS}"
    if any(feasible(request, node) for node in empty):
        return "the nodes that can run it are full: its calls wait for room"
    if request.gpus and not any(gpu_fit(request, node) for node in empty):
        wanted = " or ".join(f"{model}:{count}" for model, count in request.gpus)  # as a manifest writes them
        have = Counter[str]()
        for node in empty:
            have |= Counter(node.gpus_free)  # the most of each model one node has
        listed = ", ".join(f"{model}:{count}" for model, count in sorted(have.items())) or "no GPU"
        return f"no ready node has GPUs {wanted} (the most one has: {listed}): {UNTIL_ONE_JOINS}"
    most_memory = max(node.memory_free_mib for node in empty)
    if most_memory < request.memory_mib:
        return (
            f"no ready node has {request.memory_mib} MiB of memory (the most one has: {most_memory} MiB): "
            + UNTIL_ONE_JOINS
        )
    most_cpu = max(node.cpu_free for node in empty)
    if most_cpu < request.cpu:
        return f"no ready node has {request.cpu:g} CPUs (the most one has: {most_cpu:g}): {UNTIL_ONE_JOINS}"
    return f"no ready node has all it asks for on one node: {UNTIL_ONE_JOINS}"


def score(request: Request, node: NodeSnapshot) -> float:
    """Higher is better: a warm zygote or cached environment first, then the fullest node."""
    warmth = 2.0 if request.function_id in node.warm_zygotes else 1.0 if request.image_key in node.cached_images else 0
    packing = 1.0 - (node.cpu_free - request.cpu) / max(node.cpu_total, 1e-9)
    # Avoid spending GPUs on CPU work when a GPU-less node fits.
    gpu_waste = 0.5 if not request.gpus and any(node.gpus_free.values()) else 0.0
    return warmth * 10 + packing - gpu_waste


def choose_node(request: Request, nodes: Sequence[NodeSnapshot]) -> Placement | None:
    candidates = [n for n in nodes if feasible(request, n)]
    if not candidates:
        return None
    best = max(candidates, key=lambda n: (score(request, n), n.id))
    fit = gpu_fit(request, best)
    if isinstance(fit, tuple):
        return Placement(node_id=best.id, gpu_model=fit[0], gpu_count=fit[1])
    return Placement(node_id=best.id, gpu_model=None)


@dataclass(frozen=True)
class IdleContainer:
    """A ready container running nothing, which may be stopped to make room for queued work."""

    id: str
    node_id: str
    cpu: float
    memory_mib: int
    idle_since: datetime
    gpu_model: str | None = None
    gpu_count: int = 0


def release(node: NodeSnapshot, freed: Sequence[IdleContainer]) -> NodeSnapshot:
    """The node once these containers have stopped."""
    gpus = dict(node.gpus_free)
    for container in freed:
        if container.gpu_model:
            gpus[container.gpu_model] = gpus.get(container.gpu_model, 0) + container.gpu_count
    return replace(
        node,
        cpu_free=node.cpu_free + sum(c.cpu for c in freed),
        memory_free_mib=node.memory_free_mib + sum(c.memory_mib for c in freed),
        gpus_free=gpus,
    )


def make_room(
    request: Request, nodes: Sequence[NodeSnapshot], idle: Sequence[IdleContainer]
) -> tuple[Placement, tuple[str, ...]] | None:
    """When nothing fits: the fewest longest-idle containers on one node whose stopping lets the
    request fit there, and the placement that follows; None when no node can be freed enough."""
    best: tuple[Placement, tuple[str, ...]] | None = None
    by_node: dict[str, list[IdleContainer]] = {}
    for container in sorted(idle, key=lambda c: (c.idle_since, c.id)):  # longest idle first
        by_node.setdefault(container.node_id, []).append(container)
    for node in nodes:
        freed = node
        chosen: list[str] = []
        for container in by_node.get(node.id, ()):
            if feasible(request, freed):
                break
            freed = release(freed, [container])
            chosen.append(container.id)
        if chosen and feasible(request, freed) and (best is None or len(chosen) < len(best[1])):
            placement = choose_node(request, [freed])
            assert placement is not None
            best = (placement, tuple(chosen))
    return best
