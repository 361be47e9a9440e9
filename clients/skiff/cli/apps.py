"""`skiff app ls|rollback|stop|scale`: the workspace's apps, their versions and their autoscaling."""

from __future__ import annotations

from typing import Annotated

import typer

from skiff.cli.render import JSON_HELP, console, deployment_tree, print_json, reports_errors, table, when
from skiff.deployments import apps, rollback, stop
from skiff.functions import Function

app = typer.Typer(
    help="Apps: list them, roll one back to an earlier version, stop one, change a function's autoscaling.",
    no_args_is_help=True,
)
RESET = -1  # "back to the manifest's value" on the command line (the API's null)
SETTING_HELP = "New value; -1 returns it to the manifest's."


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


@app.command("stop")
@reports_errors
def stop_app(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app's name.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Stop APP: its queued and running calls are cancelled, its containers stop, and its URLs
    answer 404 until `skiff deploy` or `skiff app rollback` starts it again. Versions are kept."""
    stopped = stop(app_name)
    if json_output:
        print_json(stopped.to_dict())
    else:
        console.print(f"stopped app {stopped.name} (latest version {stopped.latest_version})")


@app.command("scale")
@reports_errors
def scale_function(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app's name.")],
    function_name: Annotated[str, typer.Argument(metavar="FUNCTION", help="The function's name.")],
    min_containers: Annotated[int | None, typer.Option("--min", help=SETTING_HELP)] = None,
    max_containers: Annotated[int | None, typer.Option("--max", help=SETTING_HELP)] = None,
    buffer_containers: Annotated[int | None, typer.Option("--buffer", help=SETTING_HELP)] = None,
    scaledown_window: Annotated[int | None, typer.Option("--scaledown-window", help=SETTING_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Change FUNCTION's autoscaling now, without a deploy; with no option, show it. The change
    outlives deploys that leave the setting alone in skiff.toml."""
    given = {
        "min_containers": min_containers,
        "max_containers": max_containers,
        "buffer_containers": buffer_containers,
        "scaledown_window": scaledown_window,
    }
    changes = {key: (None if value == RESET else value) for key, value in given.items() if value is not None}
    settings = Function.from_name(app_name, function_name).update_autoscaler(**changes)
    if json_output:
        print_json(settings)
        return
    grid = table("setting", "value")
    for key, value in settings.items():
        grid.add_row(key, str(value))
    console.print(grid)
