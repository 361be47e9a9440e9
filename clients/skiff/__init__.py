"""Skiff's Python SDK: define functions with `skiff.App`, deploy them, call them on your own machines.

    import skiff

    app = skiff.App("hello")

    @app.function(timeout=30)
    def hello(name: str) -> str:
        return f"hello {name}"

Deploy with `skiff deploy app.py` (or `app.deploy()`), then `hello.remote("ada")`.
"""

from skiff.app import App, Function
from skiff.calls import FunctionCall
from skiff.deployments import Deployment
from skiff.exceptions import (
    AuthError,
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
from skiff.options import Image, Retries

__all__ = [
    "App",
    "AuthError",
    "CallCancelled",
    "CallTimeout",
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
    "RateLimited",
    "RemoteError",
    "Retries",
    "Unavailable",
]
