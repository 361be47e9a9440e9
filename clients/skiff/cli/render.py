"""What the CLI commands share: `--json` output, tables and trees, and one way to report errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from skiff.deployments import Deployment
from skiff.exceptions import Error, InvalidRequest, RemoteError

P = ParamSpec("P")
R = TypeVar("R")

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)
if not console.is_terminal:  # piped: never cut ids short to fit 80 columns
    console.width = 1000

JSON_HELP = "Print JSON instead of text."


def print_json(data: Any) -> None:
    """Plain JSON on stdout (not rich-wrapped), for scripts and `jq`."""
    typer.echo(json.dumps(data, indent=2, default=str))


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def table(*columns: str) -> Table:
    """A plain table whose cells are never wrapped or cut (ids must stay copyable)."""
    grid = Table(box=None)
    for column in columns:
        grid.add_column(column, no_wrap=True)
    return grid


def deployment_tree(deployment: Deployment, verb: str) -> Tree:
    current = " (current)" if deployment.current else ""
    tree = Tree(f"[bold]{verb}[/] app [bold]{deployment.app}[/] version [bold]{deployment.version}[/]{current}")
    functions = tree.add("functions")
    for name, url in deployment.functions.items():
        functions.add(f"[bold]{name}[/]  {url}")
    if deployment.schedules:
        schedules = tree.add("schedules")
        for schedule in deployment.schedules:
            line = f"{escape(schedule.describe())}  {schedule.action}  {schedule.id}"
            schedules.add(f"[bold]{schedule.function}[/]  {line}")
    for warning in deployment.warnings:
        tree.add(f"[yellow]warning:[/] {warning}")
    return tree


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a `skiff.Error` into its message on stderr and exit status 1 (no Python traceback)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except RemoteError as exc:
            if exc.traceback:
                errors.print(exc.traceback.rstrip(), markup=False)
            errors.print(Text.assemble(("error: ", "red"), f"the function raised {exc.type}: {exc.message}"))
            raise typer.Exit(1) from None
        except Error as exc:
            errors.print(Text.assemble(("error: ", "red"), str(exc)))  # messages may hold [brackets]
            raise typer.Exit(1) from None

    return run


def parse_json_option(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{option} is not valid JSON: {exc}") from None


def age(moment: datetime, now: datetime) -> str:
    """How long ago, in its largest unit: `4s`, `3m`, `2h`, `5d`."""
    if moment.tzinfo is None:  # the API writes UTC
        moment = moment.replace(tzinfo=UTC)
    seconds = max(int((now - moment).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
