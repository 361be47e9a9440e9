"""Where the SDK sends requests: the generated client, configured from the environment or a profile,
with retries for idempotent requests and one translation of problem+json answers into `skiff` errors.

`SKIFF_URL` and `SKIFF_TOKEN` override the active profile of `~/.config/skiff/config.toml`;
`SKIFF_PROFILE` picks another profile than the active one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import httpx

from skiff.config import ConfigError, config_path, load_config
from skiff.exceptions import (
    AuthError,
    Error,
    FieldError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
)
from skiff_client import AuthenticatedClient
from skiff_client.models.problem import Problem
from skiff_client.types import UNSET, Response, Unset

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

MAX_ATTEMPTS = 6
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 8.0
# Long enough for the longest server-side wait (`Prefer: wait=60`, `?wait=60`) plus slack.
REQUEST_TIMEOUT = httpx.Timeout(90.0, connect=10.0)
RETRIED_STATUSES = frozenset({429, 503})
ERRORS_BY_STATUS: dict[int, type[Error]] = {401: AuthError, 403: AuthError, 404: NotFound, 413: PayloadTooLarge}


class Connection:
    """One server and token; safe to share between threads."""

    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        """`transport` replaces the network, e.g. with `httpx.MockTransport` in tests."""
        self.url = url.rstrip("/")
        extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self.client = AuthenticatedClient(base_url=self.url, token=token, timeout=REQUEST_TIMEOUT, httpx_args=extra)
        self.client.get_httpx_client()  # created now, not lazily by the first of several threads

    @classmethod
    def from_config(cls) -> Connection:
        """The connection named by `SKIFF_URL`/`SKIFF_TOKEN`, else by the config file's profile."""
        url, token = os.environ.get("SKIFF_URL", ""), os.environ.get("SKIFF_TOKEN", "")
        if not (url and token):
            profile = _profile()
            url, token = url or str(profile.get("url", "")), token or str(profile.get("token", ""))
        if not url or not token:
            raise AuthError(
                "no Skiff server configured: set SKIFF_URL and SKIFF_TOKEN, "
                f"or add a profile to {config_path()} (`skiff up` writes one)"
            )
        return cls(url, token)

    def send(self, request: Callable[[AuthenticatedClient], Response[T | Problem]], *, idempotent: bool) -> T:
        """Send one request; answers outside 2xx become `skiff` errors.

        Network errors, 429 and 503 are retried with jittered exponential backoff (or the server's
        `Retry-After`) only when `idempotent`: a GET, or a POST with an `Idempotency-Key`.
        """
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = request(self.client)
            except httpx.TransportError as exc:
                if not idempotent or attempt >= MAX_ATTEMPTS:
                    raise Unavailable(f"cannot reach the Skiff server at {self.url}: {exc!r}") from exc
            else:
                if 200 <= response.status_code < 300 and response.parsed is not None:
                    if isinstance(response.parsed, Problem):  # a documented 2xx is never a problem
                        raise error_from_response(response.status_code, response.content, response.headers)
                    return response.parsed
                error = error_from_response(response.status_code, response.content, response.headers)
                if not idempotent or response.status_code not in RETRIED_STATUSES or attempt >= MAX_ATTEMPTS:
                    raise error
                retry_after = getattr(error, "retry_after", None)
            time.sleep(_backoff(attempt, retry_after))

    def stream(self, method: str, path: str, headers: dict[str, str]) -> Any:
        """A streaming request on the generated client's own `httpx.Client` (for SSE)."""
        return self.client.get_httpx_client().stream(method, path, headers=headers, timeout=httpx.Timeout(None))


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_BACKOFF_SECONDS * 4)
    delay = min(FIRST_BACKOFF_SECONDS * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    return delay * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography


def error_from_response(status: int, content: bytes, headers: Any) -> Error:
    """The `skiff` error for a non-2xx answer, with the server's problem+json detail as its message."""
    problem: dict[str, Any] = {}
    with contextlib.suppress(ValueError):  # not JSON: the body itself is the message
        parsed = json.loads(content) if content else {}
        problem = parsed if isinstance(parsed, dict) else {}
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or title or content[:500].decode("utf-8", "replace") or f"HTTP {status}")
    message = f"{detail} (HTTP {status})"
    retry_after = _retry_after(problem.get("retry_after"), headers)
    if status in (400, 422):
        fields = [
            FieldError(str(item.get("field", "")), str(item.get("message", "")))
            for item in problem.get("errors") or []
            if isinstance(item, dict)
        ]
        return InvalidRequest(message, errors=fields, status=status)
    if status == 429:
        return RateLimited(message, retry_after=retry_after, status=status)
    if status == 503:
        return Unavailable(message, retry_after=retry_after, status=status)
    return ERRORS_BY_STATUS.get(status, Error)(message, status=status)


def _retry_after(value: object, headers: Any) -> float | None:
    for candidate in (value, headers.get("retry-after") if headers is not None else None):
        if isinstance(candidate, int | float) or (isinstance(candidate, str) and candidate.isdigit()):
            return float(candidate)
    return None


def _profile() -> dict[str, Any]:
    try:
        document = load_config(config_path())
    except ConfigError as exc:
        raise Error(str(exc)) from exc
    profiles = document.get("profiles")
    if not isinstance(profiles, dict):
        return {}
    name = os.environ.get("SKIFF_PROFILE") or document.get("active")
    profile = profiles.get(name) if isinstance(name, str) else None
    return profile if isinstance(profile, dict) else {}


_default: Connection | None = None
_default_key: tuple[str, str] | None = None
_lock = threading.Lock()


def default_connection() -> Connection:
    """The process's connection, rebuilt when `SKIFF_URL`/`SKIFF_TOKEN`/`SKIFF_PROFILE` change."""
    global _default, _default_key  # one shared connection pool per process
    key = (os.environ.get("SKIFF_URL", ""), os.environ.get("SKIFF_TOKEN", "") + os.environ.get("SKIFF_PROFILE", ""))
    with _lock:
        if _default is None or key != _default_key:
            _default, _default_key = Connection.from_config(), key
        return _default


class Page(Protocol[T_co]):
    """A page of a list route, as the generated client returns it."""

    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def next_cursor(self) -> str | Unset | None: ...


def every_item(fetch: Callable[[str | Unset], Page[T_co]]) -> list[T_co]:
    """Follow `next_cursor` from the first page to the last."""
    found: list[T_co] = []
    cursor: str | Unset = UNSET
    while True:
        page = fetch(cursor)
        found += page.items
        if not page.next_cursor or not page.items:
            return found
        cursor = page.next_cursor
