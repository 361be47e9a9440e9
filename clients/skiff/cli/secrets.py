"""`skiff secret create|ls|rm`: the workspace's secrets (values go in, never come back out)."""

from __future__ import annotations

from typing import Annotated

import typer

from skiff import secrets
from skiff.cli.render import JSON_HELP, console, errors, print_json, reports_errors, table, when
from skiff.exceptions import InvalidRequest

app = typer.Typer(help="Secrets: environment variables for functions, encrypted by the server.", no_args_is_help=True)


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for index, item in enumerate(assignments, 1):
        key, sep, value = item.partition("=")
        if not sep or not key:
            # The argument is not echoed: it may be a value typed without its key.
            raise InvalidRequest(f"argument {index} is not KEY=VALUE; e.g. skiff secret create db PGPASSWORD=…")
        values[key] = value
    return values


@app.command("create")
@reports_errors
def create_secret(
    name: Annotated[str, typer.Argument(help="The secret's name, e.g. 'db'.")],
    assignments: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs; they replace all earlier values.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create a secret, or replace all the values of an existing one."""
    created = secrets.create(name, parse_assignments(assignments))
    if json_output:
        print_json(created.to_dict())
        return
    console.print(f"secret [bold]{created.name}[/] holds {', '.join(created.keys)}")


@app.command("ls")
@reports_errors
def list_secrets(json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the workspace's secrets and their variable names (never their values)."""
    found = secrets.list_all()
    if json_output:
        print_json([item.to_dict() for item in found])
        return
    grid = table("name", "keys", "created", "updated")
    for item in found:
        grid.add_row(item.name, ", ".join(item.keys), when(item.created_at), when(item.updated_at))
    console.print(grid)


@app.command("rm")
@reports_errors
def remove_secret(
    name: Annotated[str, typer.Argument(help="The secret's name.")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Delete a secret; new containers of functions that declare it fail to start."""
    deleted = secrets.delete(name)
    if json_output:
        print_json(deleted.to_dict())
    else:
        errors.print(f"deleted secret [bold]{deleted.name}[/]")
