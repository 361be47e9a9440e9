"""`skiff call APP FN --json '{"args": [...]}'`: call a deployed function and print its result."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from skiff.calls import FunctionCall
from skiff.cli.render import errors, parse_json_option, print_json, reports_errors
from skiff.exceptions import CallTimeout, Error, InvalidRequest
from skiff.functions import Function

NOTICE_SECONDS = 10
INPUT_HELP = 'The input as JSON: {"args": [...], "kwargs": {...}}.'


@reports_errors
def call(
    app: Annotated[str, typer.Argument(help="The app's name.")],
    function: Annotated[str, typer.Argument(help="The function's name.")],
    input_json: Annotated[str, typer.Option("--json", help=INPUT_HELP)] = "{}",
    json_output: Annotated[bool, typer.Option("--json-output", help="Print the whole call as JSON.")] = False,
) -> None:
    """Call FUNCTION of APP, wait for its end, and print its result as JSON."""
    args, kwargs = _read_input(input_json)
    handle = Function.from_name(app, function).spawn(*args, **kwargs)
    try:
        result = _result(handle)
    except Error:
        if not json_output:
            raise
        print_json(handle.info().to_dict())
        raise typer.Exit(1) from None
    print_json(handle.info().to_dict() if json_output else result)


def _result(handle: FunctionCall[Any]) -> Any:
    """The call's result. A call that has not ended after NOTICE_SECONDS says how it stands (for a queued
    one, why it waits), once, on stderr; the wait goes on."""
    try:
        return handle.get(timeout=NOTICE_SECONDS)
    except CallTimeout as exc:
        errors.print(f"[dim]{escape(str(exc))}; still waiting[/]")
    return handle.get()


def _read_input(text: str) -> tuple[list[Any], dict[str, Any]]:
    document = parse_json_option(text, "--json")
    if not isinstance(document, dict) or set(document) - {"args", "kwargs"}:
        raise InvalidRequest('--json must be an object with "args" (a list) and/or "kwargs" (an object)')
    args, kwargs = document.get("args", []), document.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise InvalidRequest('--json: "args" must be a list and "kwargs" an object')
    return args, kwargs
