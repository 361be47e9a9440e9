"""`skiff app ls|rollback`: the workspace's apps and their versions."""

from __future__ import annotations

from typing import Annotated

import typer

from skiff.cli.render import JSON_HELP, console, deployment_tree, print_json, reports_errors, table, when
from skiff.deployments import apps, rollback

app = typer.Typer(help="Apps: list them, roll one back to an earlier version.", no_args_is_help=True)


@app.command("ls")
@reports_errors
def list_apps(json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the workspace's apps with their current and latest versions."""
    found = apps()
    if json_output:
        print_json([item.to_dict() for item in found])
        return
    grid = table("name", "current version", "latest version", "created")
    for item in found:
        current = "-" if item.current_version is None else str(item.current_version)
        grid.add_row(item.name, current, str(item.latest_version), when(item.created_at))
    console.print(grid)


@app.command("rollback")
@reports_errors
def rollback_app(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app's name.")],
    version: Annotated[int, typer.Argument(help="The version to make current again.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Make an earlier version of APP the current one: its URLs reach that version from now on."""
    deployment = rollback(app_name, version)
    if json_output:
        print_json(deployment.raw)
    else:
        console.print(deployment_tree(deployment, "rolled back"))
