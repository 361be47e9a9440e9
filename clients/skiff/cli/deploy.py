"""`skiff deploy FILE`: package an app file and its directory, deploy it as a new version, and
watch the environments it needs build (a line per function) before printing what was created."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from skiff.builds import DEFAULT_TIMEOUT_SECONDS, Build, Builds, wait_for_builds
from skiff.cli.render import JSON_HELP, console, deployment_tree, errors, print_json, reports_errors
from skiff.deployments import Deployment, apps, rollback
from skiff.exceptions import BuildTimeout
from skiff.loader import load_app

LOG_TAIL_LINES = 20


@reports_errors
def deploy(
    file: Annotated[Path, typer.Argument(help="The Python file that defines your skiff.App.")],
    name: Annotated[str | None, typer.Option("--name", help="Deploy as this app instead of App(name).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Do not wait for the new environments to build (they build anyway).")
    ] = False,
    build_timeout: Annotated[
        float,
        typer.Option("--build-timeout", min=1, help="Seconds to wait for the environments to build."),
    ] = DEFAULT_TIMEOUT_SECONDS,
    keep_failed: Annotated[
        bool,
        typer.Option(
            "--keep-failed",
            help="When a build fails, keep the new version current instead of going back to the one before.",
        ),
    ] = False,
) -> None:
    """Deploy the app defined in FILE, with the code beside it. New environments (pip requirements)
    are built at once, and their progress shown; then the version and calls URLs are printed.
    Exits non-zero when a build fails, with the end of its log; the app then goes back to the version
    that was current before (unless --keep-failed), so a bad requirement does not take it down."""
    app = load_app(file)
    app_name = name or app.name
    before = next((a.current_version for a in apps() if a.name == app_name), None)
    deployment = app.deploy(name=name, root=file.resolve().parent)
    builds: Builds | None = None
    timed_out: BuildTimeout | None = None
    if deployment.with_requirements and not no_wait:
        try:
            builds = watch(deployment, build_timeout, live=not json_output)
        except BuildTimeout as exc:
            builds, timed_out = exc.builds, exc
    failed = builds is not None and bool(builds.failed)
    back_to = before if failed and not keep_failed and before not in (None, deployment.version) else None
    if back_to is not None:
        rollback(deployment.app, back_to)
        deployment = replace(deployment, current=False)
    if json_output:
        schedules = {"schedules": [s.to_dict() for s in deployment.schedules]} if deployment.schedules else {}
        built = {"builds": [b.raw for b in builds.items]} if builds is not None else {}
        rolled = {"rolled_back_to": back_to} if back_to is not None else {}
        print_json(deployment.raw | schedules | built | rolled)
    else:
        console.print(deployment_tree(deployment, "deployed"))
    if timed_out is not None:
        raise timed_out
    if builds is not None and builds.failed:
        for build in builds.failed:
            report_failure(build)
        if back_to is not None:
            errors.print(
                f"app {deployment.app!r} is back on version {back_to}; version {deployment.version} stays deployed "
                f"for calls that pin it (?version={deployment.version}) and for `skiff app rollback`"
            )
        elif before != deployment.version and not keep_failed:
            errors.print(f"version {deployment.version} is current: the app had no version to go back to")
        raise typer.Exit(1)


def report_failure(build: Build) -> None:
    where = f" on {build.node}" if build.node else ""
    errors.print(Text.assemble(("error: ", "red"), f"the environment of {build.function!r} failed to build{where}:"))
    errors.print(Text(build.log_tail(LOG_TAIL_LINES)))


def watch(deployment: Deployment, timeout: float, *, live: bool) -> Builds:
    """Wait for the version's builds, showing a line per function while a terminal watches; the
    final lines are printed once the builds that were needed end."""
    if not live:
        return wait_for_builds(deployment.app, deployment.version, timeout=timeout)
    with Live(console=console, transient=True, refresh_per_second=8) as screen:
        final = wait_for_builds(
            deployment.app,
            deployment.version,
            timeout=timeout,
            on_change=lambda current: screen.update(progress(current, deployment.with_requirements)),
        )
    if final.items:
        console.print(progress(final, deployment.with_requirements))
    return final


def progress(builds: Builds, functions: list[str]) -> Table:
    """A line per function: waiting, building on NODE (12 s), built in 34 s, or failed."""
    grid = Table.grid(padding=(0, 1))
    if not builds.planned:  # which of them need a build is not decided yet
        for function in functions:
            grid.add_row(Spinner("dots", style="cyan"), f"[bold]{escape(function)}[/]", "waiting")
    for build in builds.items if builds.planned else ():
        grid.add_row(*_cells(build))
    return grid


def _cells(build: Build) -> tuple[RenderableType, str, str]:
    name = f"[bold]{escape(build.function)}[/]"
    node = escape(build.node or "")
    if build.state == "pending":
        waiting = f"waiting for {node}" if node else "waiting for a node that can run it"
        return Spinner("dots", style="cyan"), name, waiting
    if build.state == "building":
        return Spinner("dots", style="cyan"), name, f"building on {node} ({build.seconds:.0f} s)"
    if build.state == "succeeded":
        return Text("✓", style="green"), name, f"built in {build.seconds:.0f} s on {node}"
    return Text("✗", style="red"), name, f"[red]failed[/] after {build.seconds:.0f} s on {node}"
