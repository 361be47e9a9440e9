"""`skiff server api|scheduler|agent [ARGS...]`: run one Skiff server process in the foreground.

Each replaces this process with `python -m <component> ARGS`, so signals and the exit code are the
component's own. This package never imports the server code: it is the client side of the API.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

# Everything after the component name belongs to the component, `--help` included.
PASSTHROUGH: dict[str, Any] = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": [],
}
AGENT_HELP = "Join this machine to a Skiff as a worker: --api URL --token nk_... [--state-dir DIR]."

app = typer.Typer(help="Run a Skiff server process (API, scheduler or agent) in the foreground.", no_args_is_help=True)


def exec_component(module: str, args: list[str]) -> None:
    """Become `python -m <module> ARGS`; does not return."""
    os.execv(sys.executable, [sys.executable, "-m", module, *args])  # noqa: S606 - a fixed interpreter and module


@app.command("api", context_settings=PASSTHROUGH)
def api(ctx: typer.Context) -> None:
    """The HTTP API: serve (default), migrate, bootstrap --workspace NAME, openapi."""
    exec_component("api", ctx.args)


@app.command("scheduler", context_settings=PASSTHROUGH)
def scheduler(ctx: typer.Context) -> None:
    """The scheduler: autoscaling, placement, reconciliation, cron; runs until SIGTERM."""
    exec_component("scheduler", ctx.args)


@app.command("agent", context_settings=PASSTHROUGH, help=AGENT_HELP)
def agent(ctx: typer.Context) -> None:
    exec_component("agent", ctx.args)
