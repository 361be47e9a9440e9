"""`skiff containers ls|stop`: the workspace's containers, the function each serves and the node it runs
on; stopping one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from skiff import containers
from skiff.cli.render import JSON_HELP, age, console, print_json, reports_errors, table
from skiff_client.models.container_out import ContainerOut
from skiff_client.models.container_state import ContainerState

app = typer.Typer(help="Containers: list those that run the workspace's functions, or stop one.", no_args_is_help=True)
STATES = ", ".join(state.value for state in ContainerState)


@app.command("ls")
@reports_errors
def list_containers(
    app_name: Annotated[str | None, typer.Option("--app", help="Only this app's.")] = None,
    function: Annotated[str | None, typer.Option("--function", help="Only this function's.")] = None,
    node: Annotated[str | None, typer.Option("--node", help="Only those on this node (its name or id).")] = None,
    state: Annotated[str | None, typer.Option("--state", help=f"Only those in this state: {STATES}.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List the workspace's containers not exited (or those in --state), newest first: the function each
    serves, its node, state, GPUs, and how long it has been up."""
    if state is not None and state not in {s.value for s in ContainerState}:
        raise typer.BadParameter(f"{state!r} is not a state; one of: {STATES}", param_hint="--state")
    found = containers.list_all(app=app_name, function=function, node=node, state=state)
    if json_output:
        print_json([container.to_dict() for container in found])
        return
    now = datetime.now(UTC)
    grid = table("id", "function", "version", "node", "state", "calls", "gpus", "up")
    for container in found:
        grid.add_row(
            container.id, f"{container.app}.{container.function}", str(container.version), container.node,
            status(container), str(container.running_calls), gpus(container), up(container, now),
        )  # fmt: skip
    console.print(grid)


@app.command("stop")
@reports_errors
def stop_container(
    container_id: Annotated[str, typer.Argument(metavar="CONTAINER", help="The container's id.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Stop CONTAINER: it finishes the calls it is running, takes no more and exits; its function's
    queued calls go to its other containers, or to a new one."""
    stopped = containers.stop(container_id)
    if json_output:
        print_json(stopped.to_dict())
    else:
        console.print(f"container {stopped.id} ({stopped.app}.{stopped.function}): {status(stopped)}")


def status(container: ContainerOut) -> str:
    if container.asleep:
        return "asleep"
    if container.exit_reason:
        return f"{container.state}: {container.exit_reason}"
    return str(container.state)


def gpus(container: ContainerOut) -> str:
    """`H100:2 (0: 87%, 1: 12%)`: the model and count reserved, then which of its node's GPUs it holds,
    once known, each with its utilization when its node has reported it."""
    if not container.gpu_model:
        return "-"
    busy = {usage.index: usage.utilization_percent for usage in container.gpu_usage}
    held = [f"{index}: {busy[index]}%" if index in busy else str(index) for index in container.gpus]
    return f"{container.gpu_model}:{container.gpu_count}" + (f" ({', '.join(held)})" if held else "")


def up(container: ContainerOut, now: datetime) -> str:
    """How long since it was ready, or for an exited one how long it ran; `-` when it never was."""
    if container.ready_at is None:
        return "-"
    return age(container.ready_at, container.exited_at or now)
