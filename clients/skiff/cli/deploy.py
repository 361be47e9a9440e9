"""`skiff deploy FILE`: package an app file and its directory, and deploy it as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skiff.cli.render import JSON_HELP, console, deployment_tree, print_json, reports_errors
from skiff.loader import load_app


@reports_errors
def deploy(
    file: Annotated[Path, typer.Argument(help="The Python file that defines your skiff.App.")],
    name: Annotated[str | None, typer.Option("--name", help="Deploy as this app instead of App(name).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Deploy the app defined in FILE, with the code beside it; prints the version and calls URLs."""
    app = load_app(file)
    deployment = app.deploy(name=name, root=file.resolve().parent)
    if json_output:
        schedules = {"schedules": [s.to_dict() for s in deployment.schedules]} if deployment.schedules else {}
        print_json(deployment.raw | schedules)
    else:
        console.print(deployment_tree(deployment, "deployed"))
