"""`skiff logs CALL_ID|APP [-f]`: what a call printed, or what an app's recent calls printed; `-f` follows
the call until it ends, or the app's calls as they run until interrupted."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer

from skiff.calls import LogLine, follow_app_logs, follow_logs, read_logs
from skiff.cli.render import JSON_HELP, errors, reports_errors

CALL_ID_PREFIX = "call_"  # app names take no underscore, so a call's id is never an app's name
APP_CALLS = 20  # an app's recent calls whose lines are printed first


def is_call_id(target: str) -> bool:
    return target.startswith(CALL_ID_PREFIX)


def short_id(call_id: str) -> str:
    """The random end of a call's id (its start is a timestamp that calls made together share)."""
    return call_id.removeprefix(CALL_ID_PREFIX)[-8:]


@reports_errors
def logs(
    target: Annotated[
        str,
        typer.Argument(metavar="CALL_ID|APP", help="A call's id (call_...), or an app's name for its calls' lines."),
    ],
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Stream new lines: until the call ends, or the app's calls until interrupted."
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line. " + JSON_HELP)] = False,
) -> None:
    """Print a call's log lines; for an app, those of its last 20 calls, each after its call's short id."""
    if is_call_id(target):
        print_call_logs(target, follow=follow, json_output=json_output)
        return
    try:
        print_app_logs(target, follow=follow, json_output=json_output)
    except KeyboardInterrupt:  # the way to stop following an app
        raise typer.Exit(130) from None


def print_call_logs(call_id: str, *, follow: bool, json_output: bool) -> None:
    lines = follow_logs(call_id) if follow else read_logs(call_id)
    for item in lines:
        if isinstance(item, LogLine):
            typer.echo(json_line(dataclasses.asdict(item)) if json_output else item.line)
        elif not json_output:
            errors.print(f"[dim]call {call_id} ended: {item}[/]")


def print_app_logs(app: str, *, follow: bool, json_output: bool) -> None:
    for call_id, item in follow_app_logs(app, calls=APP_CALLS, follow=follow):
        if isinstance(item, LogLine):
            if json_output:
                typer.echo(json_line({"call_id": call_id, **dataclasses.asdict(item)}))
            else:
                typer.echo(f"[{short_id(call_id)}] {item.line}")
        elif follow and not json_output:
            errors.print(f"[dim]call {call_id} ended: {item}[/]")


def json_line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))
