"""`skiff token create|ls|revoke`: the workspace's API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from skiff import tokens
from skiff.cli.render import JSON_HELP, console, errors, print_json, reports_errors, table, when

app = typer.Typer(help="API tokens: create one, list them, revoke one.", no_args_is_help=True)


@app.command("create")
@reports_errors
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'ci'.")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help=f"Repeat for several: {', '.join(tokens.SCOPES)}.")
    ] = None,
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(tokens.KINDS)}.")] = "user",
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create a token; its secret is printed once and cannot be shown again."""
    created = tokens.create(name, kind=kind, scopes=scope or ())
    if json_output:
        print_json(created.to_dict())
        return
    scopes = ", ".join(str(s) for s in created.scopes)
    errors.print(f"created token [bold]{created.name}[/] ({created.id}, {created.kind}, scopes: {scopes})")
    errors.print("[yellow]the secret is shown only now; store it:[/]")
    typer.echo(created.token)


@app.command("ls")
@reports_errors
def list_tokens(json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the workspace's tokens (never their secrets)."""
    found = tokens.list_all()
    if json_output:
        print_json([item.to_dict() for item in found])
        return
    grid = table("id", "name", "kind", "prefix", "scopes", "created", "last used", "revoked")
    for item in found:
        scopes = ",".join(str(s) for s in item.scopes)
        grid.add_row(
            item.id, item.name, str(item.kind), item.prefix, scopes, when(item.created_at),
            when(item.last_used_at), when(item.revoked_at),
        )  # fmt: skip
    console.print(grid)


@app.command("revoke")
@reports_errors
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `skiff token ls`).")],
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Revoke a token: requests made with it fail from now on."""
    revoked = tokens.revoke(token_id)
    if json_output:
        print_json(revoked.to_dict())
    else:
        console.print(f"revoked token [bold]{revoked.name}[/] ({revoked.id})")
