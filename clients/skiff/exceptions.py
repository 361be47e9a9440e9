"""One exception tree for the SDK and CLI: every error a caller can catch is a `skiff.Error`.

API errors come from the server's `application/problem+json` answers (RFC 9457) and keep its
message; call outcomes (the function raised, was cancelled, ran out of time) have their own types.

    Error
    ├── AuthError          401, 403: no token, a bad token, or a token without the scope
    ├── NotFound           404
    ├── InvalidRequest     400, 422, and options refused before anything is sent
    ├── PayloadTooLarge    413, and bundles over the size limit before upload
    ├── RateLimited        429: `.retry_after` seconds
    ├── Unavailable        503, and a server that cannot be reached
    ├── RemoteError        the function raised: `.type`, `.message`, `.traceback`
    │   └── FunctionTimeout    an attempt ran past the function's `timeout`
    ├── CallTimeout        `FunctionCall.get(timeout=...)` ran out before the call ended
    ├── CallCancelled      the call was cancelled
    └── BuildTimeout       a deploy's environments were still building when its wait ran out
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: skiff.builds raises these errors
    from skiff.builds import Builds


@dataclass(frozen=True)
class FieldError:
    """One refused field: its path (`functions.embed.memory`) and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class Error(Exception):
    """Base class of every error raised by `skiff`; `status` is the HTTP status, when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AuthError(Error):
    """The token is missing, invalid, revoked, or lacks the scope the request needs (401, 403)."""


class NotFound(Error):
    """The app, function, call or token does not exist in this workspace (404)."""


class InvalidRequest(Error, ValueError):
    """The request or a function's options were refused; `errors` lists each field's problem."""

    def __init__(self, message: str, *, errors: list[FieldError] | None = None, status: int | None = None) -> None:
        self.errors = list(errors or [])
        details = "".join(f"\n  {error}" for error in self.errors)
        super().__init__(message + details, status=status)


class PayloadTooLarge(Error):
    """A call's input or a bundle is over the server's size limit (413)."""


class RateLimited(Error):
    """A rate limit or a function's queue limit was reached (429); retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(Error):
    """The server or a service behind it is unavailable (503), or the server cannot be reached."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class RemoteError(Error):
    """The function raised: `type` is the exception's class name, `traceback` the remote traceback."""

    def __init__(self, type: str, message: str, traceback: str | None = None, *, call_id: str = "") -> None:
        self.type = type
        self.traceback = traceback
        self.call_id = call_id
        super().__init__(f"{type}: {message}" if message else type)
        self.message = message

    def __str__(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        return f"{text}\n\nRemote traceback:\n{self.traceback}" if self.traceback else text


class FunctionTimeout(RemoteError):
    """An attempt ran longer than the function's `timeout` and was stopped."""


class CallTimeout(Error, TimeoutError):
    """`FunctionCall.get(timeout=...)` ran out before the call ended; the call itself goes on."""


class CallCancelled(Error):
    """The call was cancelled before it finished."""


class BuildTimeout(Error, TimeoutError):
    """Waiting for a version's environment builds ran out; `builds` is how they stood. The builds go on."""

    def __init__(self, message: str, *, builds: Builds) -> None:
        super().__init__(message)
        self.builds = builds
