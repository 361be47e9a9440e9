"""`skiff calls ls`: the workspace's recent calls, newest first."""

from __future__ import annotations

from typing import Annotated

import typer

from skiff.calls import list_recent_calls
from skiff.cli.render import JSON_HELP, console, print_json, reports_errors, table, when

app = typer.Typer(help="Calls: list them (see also `skiff call` and `skiff logs`).", no_args_is_help=True)


@app.command("ls")
@reports_errors
def list_calls(
    app_name: Annotated[str | None, typer.Option("--app", help="Only this app's calls.")] = None,
    function: Annotated[str | None, typer.Option("--function", help="Only this function's calls.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many calls.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List recent calls, newest first."""
    found = list_recent_calls(app=app_name, function=function, limit=limit)
    if json_output:
        print_json([call.to_dict() for call in found])
        return
    grid = table("id", "app", "function", "version", "status", "created", "attempt")
    for call in found:
        grid.add_row(
            call.id, call.app, call.function, str(call.version), str(call.status), when(call.created_at),
            f"{call.attempt}/{call.max_attempts}",
        )  # fmt: skip
    console.print(grid)
