"""`skiff nodes ls`: the workspace's nodes, their capacity and how recently each was heard from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer

from skiff import nodes
from skiff.cli.render import JSON_HELP, age, console, print_json, reports_errors, table
from skiff_client.models.gpu import Gpu

app = typer.Typer(help="Nodes: list the machines that run the workspace's containers.", no_args_is_help=True)


@app.command("ls")
@reports_errors
def list_nodes(json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the workspace's nodes: state, CPUs, memory, GPUs (and how many its containers hold), how many
    containers each runs, and the age of the last heartbeat."""
    found = nodes.list_all()
    if json_output:
        print_json([node.to_dict() for node in found])
        return
    now = datetime.now(UTC)
    grid = table("name", "id", "state", "cpus", "memory", "gpus", "containers", "heartbeat")
    for node in found:
        held = node.gpus_held if isinstance(node.gpus_held, list) else []
        grid.add_row(
            node.name, node.id, str(node.state), f"{node.cpus:g}", memory(node.memory_mib),
            gpu_summary(node.gpus, held), str(node.containers) if isinstance(node.containers, int) else "-",
            f"{age(node.last_heartbeat_at, now)} ago",
        )  # fmt: skip
    console.print(grid)


def memory(mib: int) -> str:
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib} MiB"


def gpu_summary(gpus: list[Gpu], held: Sequence[int] = ()) -> str:
    """`A100-80GB x 2, H100 x 1 (1 held)`: each model with its count, and how many of them its
    containers hold; `-` for none."""
    counts = Counter(gpu.model for gpu in gpus)
    taken = Counter(gpu.model for gpu in gpus if gpu.index in set(held))
    return (
        ", ".join(
            f"{model} x {count}" + (f" ({taken[model]} held)" if taken[model] else "")
            for model, count in sorted(counts.items())
        )
        or "-"
    )
