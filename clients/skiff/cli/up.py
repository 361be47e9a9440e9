"""`skiff up`: the whole platform on this machine, for development and single-machine use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from skiff.local.stack import LocalStack
from skiff.local.state import STATE_DIR_ENV, StateDir


def up(
    state_dir: Annotated[
        Path, typer.Option(envvar=STATE_DIR_ENV, help="Where data, tokens, logs and pidfiles live.")
    ] = Path(".state"),
    port: Annotated[
        int, typer.Option(envvar="SKIFF_PORT", help="The API's port; a free one is used when it is taken.")
    ] = 8000,
) -> None:
    """Start Postgres, Redis, the API, the scheduler and an agent; Ctrl-C stops them all."""
    stack = LocalStack(StateDir.at(state_dir), port, console=Console(highlight=False), errors=Console(stderr=True))
    raise typer.Exit(stack.run())
