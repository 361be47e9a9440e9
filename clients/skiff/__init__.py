"""Skiff's Python SDK: define functions with `skiff.App`, deploy them, call them on your own machines.

    import skiff

    app = skiff.App("hello")

    @app.function(timeout=30)
    def hello(name: str) -> str:
        return f"hello {name}"

Deploy with `skiff deploy app.py` (or `app.deploy()`), then `hello.remote("ada")`. A class with
`@app.cls(...)` makes each `@skiff.method` a function, served on one instance per container:
`@skiff.enter` methods run before its first input, `@skiff.exit` ones when it stops.
`@app.function(schedule=skiff.Cron("0 6 * * *"))` (or `skiff.Period(hours=1)`) also calls it on a schedule.
Try a function without deploying it for good with `skiff run app.py::hello --args '["ada"]'`.
"""

from skiff.app import App
from skiff.calls import FunctionCall
from skiff.cls import Cls, enter, exit, method
from skiff.deployments import Deployment
from skiff.exceptions import (
    AuthError,
    BuildTimeout,
    CallCancelled,
    CallTimeout,
    Error,
    FieldError,
    FunctionTimeout,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RemoteError,
    Unavailable,
)
from skiff.functions import Function
from skiff.options import Image, Retries
from skiff.schedules import Cron, Period
from skiff.secrets import Secret

__all__ = [
    "App",
    "AuthError",
    "BuildTimeout",
    "CallCancelled",
    "CallTimeout",
    "Cls",
    "Cron",
    "Deployment",
    "Error",
    "FieldError",
    "Function",
    "FunctionCall",
    "FunctionTimeout",
    "Image",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "Period",
    "RateLimited",
    "RemoteError",
    "Retries",
    "Secret",
    "Unavailable",
    "enter",
    "exit",
    "method",
]
