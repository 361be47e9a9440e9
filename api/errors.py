"""Domain errors. Services raise these; `api.problems` turns them into RFC 9457 responses."""

from __future__ import annotations


class SkiffError(Exception):
    """Base of every error a client can act on."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(SkiffError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(SkiffError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="skiff"'})


class Forbidden(SkiffError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(SkiffError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(SkiffError):
    status, title, slug = 409, "Conflict", "conflict"


class PayloadTooLarge(SkiffError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class Unprocessable(SkiffError):
    status, title, slug = 422, "Unprocessable content", "unprocessable"


class RateLimited(SkiffError):
    status, title, slug = 429, "Too many requests", "rate-limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class Unavailable(SkiffError):
    status, title, slug = 503, "Service unavailable", "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
