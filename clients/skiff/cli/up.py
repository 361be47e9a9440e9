"""`skiff up`: the whole platform on this machine, for development and single-machine use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from skiff.local.stack import LocalStack
from skiff.local.state import STATE_DIR_ENV, StateDir

JSON_UP_HELP = (
    "When ready, print one JSON line (url, workspace, token, config, profile, active_profile, state_dir, "
    "logs_dir, pid, ready_seconds) instead of the summary; progress goes to stderr."
)


def up(
    state_dir: Annotated[
        Path, typer.Option(envvar=STATE_DIR_ENV, help="Where data, tokens, logs and pidfiles live.")
    ] = Path(".state"),
    port: Annotated[
        int, typer.Option(envvar="SKIFF_PORT", help="The API's port; a free one is used when it is taken.")
    ] = 8000,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_UP_HELP)] = False,
) -> None:
    """Start Postgres, Redis, the API, the scheduler and an agent; Ctrl-C stops them all."""
    progress = Console(highlight=False, stderr=json_output)  # with --json, stdout holds only the JSON line
    stack = LocalStack(StateDir.at(state_dir), port, progress, Console(stderr=True), json_output=json_output)
    raise typer.Exit(stack.run())
