"""The `skiff` command line: one module per noun, assembled here."""

from __future__ import annotations

import typer

from skiff.cli import server, up

app = typer.Typer(
    name="skiff",
    help="Skiff: run Python functions on your own CPU and GPU machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(server.app, name="server")
app.command("agent", context_settings=server.PASSTHROUGH, help=server.AGENT_HELP)(server.agent)
app.command("up")(up.up)


def main() -> None:
    app()
