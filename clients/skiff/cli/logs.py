"""`skiff logs CALL_ID [-f]`: what a call printed; `-f` follows it until it ends."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from skiff.calls import LogLine, follow_logs, read_logs
from skiff.cli.render import JSON_HELP, errors, reports_errors


@reports_errors
def logs(
    call_id: Annotated[str, typer.Argument(help="The call's id (call_...).")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream new lines until the call ends.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line. " + JSON_HELP)] = False,
) -> None:
    """Print a call's log lines."""
    lines = follow_logs(call_id) if follow else read_logs(call_id)
    for item in lines:
        if isinstance(item, LogLine):
            if json_output:
                typer.echo(json.dumps(dataclasses.asdict(item), separators=(",", ":")))
            else:
                typer.echo(item.line)
        elif not json_output:
            errors.print(f"[dim]call {call_id} ended: {item}[/]")
