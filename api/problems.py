"""RFC 9457 problem details: the one place errors become HTTP responses.

Routes declare which problems they can answer with `problem_responses(...)` so that the spec
(and the clients generated from it) know every error shape.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api.errors import SkiffError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://skiff.dev/problems/"
log = logging.getLogger("skiff.api")


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid field of a request: where it is and what is wrong with it."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None


_DESCRIPTIONS = {
    400: "The request is malformed.",
    401: "The bearer token is missing, malformed, unknown or revoked.",
    403: "The token is valid but lacks the scope or kind this route needs.",
    404: "No such object in this workspace.",
    409: "The request conflicts with the object's current state.",
    413: "The body is larger than the limit named in the message.",
    422: "The body is well-formed but invalid; `errors` names the fields.",
    429: "A rate or quota limit was reached; retry after `Retry-After` seconds.",
    503: "A backing service is unavailable; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json responses a route declares in the spec."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }


def _slug(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-")


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
) -> Response[Problem]:
    body = Problem(
        type=PROBLEM_BASE + (slug or _slug(status)),
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        retry_after=retry_after,
    )
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers or {})


def on_skiff_error(request: Request[Any, Any, Any], exc: SkiffError) -> Response[Problem]:
    retry_after = getattr(exc, "retry_after", None)
    # Errors that name several fields at once (a manifest, a bundle) carry `errors`.
    issues = getattr(exc, "errors", None) or []
    return problem_response(
        request,
        exc.status,
        exc.detail,
        title=exc.title,
        slug=exc.slug,
        headers=exc.headers,
        retry_after=retry_after,
        errors=[FieldError(field=i.field, message=i.message) for i in issues] or None,
    )


_MSGSPEC_PATH = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def _field_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = str(item.get("key") or "")
        if key in ("", "data", "body"):
            found = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message) or _MSGSPEC_PATH.search(message)
            key = found.group(1) if found else "body"
        errors.append(FieldError(field=key, message=message))
    return errors


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    """400 when the body is not parseable; 422 when it parses but breaks the schema."""
    errors = _field_errors(exc.extra)
    messages = " ".join(e.message for e in errors) or str(exc.detail)
    if "malformed" in messages.lower() or ("not valid" in messages.lower() and "json" in messages.lower()):
        return problem_response(request, 400, f"the body is not valid JSON: {messages}", errors=errors)
    sources = (
        {item.get("source") for item in exc.extra if isinstance(item, dict)} if isinstance(exc.extra, list) else set()
    )
    if sources & {"query", "path", "header", "cookie"}:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
        return problem_response(request, 400, detail, errors=errors)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return problem_response(request, 422, detail, slug="unprocessable", errors=errors)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    detail = str(exc.detail)
    if status == 413:
        limit = request.route_handler.resolve_request_max_body_size() if request.scope.get("route_handler") else None
        detail = f"request body exceeds the limit of {limit} bytes" if limit else "request body too large"
    elif status == 400 and isinstance(exc.__cause__, SerializationException):
        detail = f"the body is not valid JSON: {detail}"
    elif status == 404 and detail in ("", "Not Found"):
        detail = f"no route matches {request.method} {request.url.path}"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    elif status >= 500:
        log.error("http error", extra={"status": status, "path": request.url.path})
        detail = HTTPStatus(status).phrase
    return problem_response(request, status, detail, headers=dict(exc.headers or {}))


def on_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.warning("backing service unavailable", extra={"error": type(exc).__name__, "path": request.url.path})
    return problem_response(
        request,
        503,
        "a backing service (database or queue) is unavailable; retry shortly",
        headers={"Retry-After": "1"},
        retry_after=1,
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or caused_by_unavailable(exc)):
        return on_unavailable(request, exc)
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(request, 500, "internal error; the server log has the details")


def caused_by_unavailable(exc: BaseException) -> bool:
    """SQLAlchemy wraps some of asyncpg's connection errors in a plain DBAPIError (Postgres still
    recovering after a crash answers CannotConnectNowError while a connection is opened)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, UNAVAILABLE) and not isinstance(cause, DBAPIError):
            return True
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False


# A backing service away: the client may retry. The asyncpg ones come from the call path's raw
# connections (api.calls.store): a lost or refused connection, Postgres starting up.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)

EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    SkiffError: on_skiff_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_exception,
    **dict.fromkeys(UNAVAILABLE, on_unavailable),
    Exception: on_unexpected,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_MEDIA_TYPE",
    "UNAVAILABLE",
    "FieldError",
    "Problem",
    "problem_responses",
]
