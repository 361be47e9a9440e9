"""`skiff run FILE::FUNCTION`: try a function without touching the app's deployed versions.

It deploys FILE's app under a name of its own (`APP-run`, reused by the next run), makes one call
pinned to that version, streams the call's logs to stderr while it runs, prints its result on
stdout, then scales the run's functions to zero. The API cannot delete an app, so the run's app
stays listed (`skiff app ls`) with no container kept warm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from skiff.app import App
from skiff.calls import FunctionCall, LogLine, follow_logs
from skiff.cli.render import errors, parse_json_option, print_json, reports_errors
from skiff.deployments import Deployment, stop
from skiff.exceptions import Error, InvalidRequest, NotFound
from skiff.functions import Function
from skiff.loader import load_app

RUN_SUFFIX = "-run"
MAX_APP_NAME = 63
TARGET_HELP = (
    "The app file and the function to call: app.py::square, or app.py::Model.predict for a method of an "
    "@app.cls class. The function may be left out when the app has only one."
)
ARGS_EXAMPLE = """--args '[2, "two"]'"""
ARGS_HELP = f"Positional arguments as a JSON list, e.g. {ARGS_EXAMPLE}."
KWARGS_HELP = """Keyword arguments as a JSON object, e.g. --kwargs '{"punctuation": "!"}'."""
NAME_HELP = "Deploy the run as this app (default: the app's name + '-run'); never the app's own name."
JSON_RUN_HELP = "Print the whole call as JSON (id, app, version, status, result, error) instead of its result."


@reports_errors
def run(
    target: Annotated[str, typer.Argument(metavar="FILE[::FUNCTION]", help=TARGET_HELP)],
    args_json: Annotated[str, typer.Option("--args", help=ARGS_HELP)] = "[]",
    kwargs_json: Annotated[str, typer.Option("--kwargs", help=KWARGS_HELP)] = "{}",
    name: Annotated[str | None, typer.Option("--name", help=NAME_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_RUN_HELP)] = False,
) -> None:
    """Deploy FILE's app for one run, call FUNCTION once, stream its logs and print its result.

    Example: skiff run app.py::greet --args '["ada"]' --kwargs '{"punctuation": "?"}'

    Exits with 1 when the call fails, after printing the function's traceback. The run's app stays, scaled to zero.
    """
    file, requested = parse_target(target)
    args, kwargs = parse_arguments(args_json, kwargs_json)
    app = load_app(file)
    function_name = pick_function(app, requested, file)
    app_name = name or run_app_name(app.name)
    if app_name == app.name:
        raise InvalidRequest(f"--name {app_name!r} is the app's own name; a run never replaces its deployed version")
    deployment = app.deploy(name=app_name, root=file.resolve().parent)
    errors.print(f"[dim]deployed app {deployment.app} version {deployment.version} for this run[/]", highlight=False)
    try:
        call = call_and_follow(Function(deployment.app, function_name, version=deployment.version), args, kwargs)
    finally:
        stop_run_app(deployment)
    if json_output:
        document = call.info().to_dict()
        print_json(document)
        if document["status"] != "succeeded":
            raise typer.Exit(1)
        return
    print_json(call.get())  # a failed call raises: its traceback is printed, and the exit status is 1


def parse_target(text: str) -> tuple[Path, str | None]:
    """`app.py::square` → (app.py, "square"); `app.py` → (app.py, None)."""
    file, separator, function = text.partition("::")
    if not file or (separator and not function):
        raise InvalidRequest(f"{text!r} is not FILE[::FUNCTION], e.g. app.py::square or app.py::Model.predict")
    return Path(file), function or None


def parse_arguments(args_text: str, kwargs_text: str) -> tuple[list[Any], dict[str, Any]]:
    args = parse_json_option(args_text, "--args")
    if not isinstance(args, list):
        raise InvalidRequest(f"--args must be a JSON list, e.g. {ARGS_EXAMPLE}; got {args_text}")
    kwargs = parse_json_option(kwargs_text, "--kwargs")
    if not isinstance(kwargs, dict):
        example = """--kwargs '{"name": "ada"}'"""
        raise InvalidRequest(f"--kwargs must be a JSON object, e.g. {example}; got {kwargs_text}")
    return args, kwargs


def pick_function(app: App, requested: str | None, file: Path) -> str:
    """The registered function's name: `Model.predict` is the method's function `Model-predict`."""
    names = sorted(app.registered_functions)
    if requested is None:
        if len(names) == 1:
            return names[0]
        raise InvalidRequest(f"{file} has {len(names)} functions; pick one with {file}::NAME: {', '.join(names)}")
    class_name, dot, method = requested.partition(".")
    name = f"{class_name}-{method}" if dot else requested
    if name not in app.registered_functions:
        shown = ", ".join(n.replace("-", ".", 1) if app.registered_functions[n].class_name else n for n in names)
        raise NotFound(f"function {requested!r} not found in {file}; functions: {shown or 'none'}")
    return name


def run_app_name(app_name: str) -> str:
    return app_name[: MAX_APP_NAME - len(RUN_SUFFIX)] + RUN_SUFFIX


def call_and_follow(function: Function[..., Any], args: list[Any], kwargs: dict[str, Any]) -> FunctionCall[Any]:
    """Start the call and print its log lines until it ends; Ctrl-C cancels it."""
    call = function.spawn(*args, **kwargs)
    errors.print(f"[dim]call {call.id} of {function.name}: its logs follow[/]", highlight=False)
    try:
        for item in follow_logs(call.id):
            if isinstance(item, LogLine):
                typer.echo(item.line, err=True)
            else:
                errors.print(f"[dim]call {call.id} {item}[/]", highlight=False)
    except KeyboardInterrupt:
        call.cancel()
        errors.print(f"[dim]cancelled call {call.id}[/]", highlight=False)
        raise typer.Exit(130) from None
    return call


def stop_run_app(deployment: Deployment) -> None:
    """Leave nothing of the run's app running: stop it (it stays listed with its versions)."""
    try:
        stop(deployment.app)
    except Error as exc:  # the call's outcome matters more than the cleanup's
        errors.print(Text.assemble(("warning: ", "yellow"), f"could not stop app {deployment.app}: {exc}"))
        return
    errors.print(f"[dim]stopped app {deployment.app}[/]", highlight=False)
