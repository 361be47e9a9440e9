"""The `skiff` command line: one module per noun, assembled here."""

from __future__ import annotations

import typer

from skiff.cli import apps, call, calls, containers, deploy, logs, nodes, run, secrets, server, tokens, up

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
app.command("deploy")(deploy.deploy)
app.command("run")(run.run)
app.command("call")(call.call)
app.command("logs")(logs.logs)
app.add_typer(calls.app, name="calls")
app.add_typer(apps.app, name="app")
app.add_typer(nodes.app, name="nodes")
app.add_typer(containers.app, name="containers")
app.add_typer(tokens.app, name="token")
app.add_typer(secrets.app, name="secret")


def main() -> None:
    app()
