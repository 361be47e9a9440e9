"""Which database errors mean "retry shortly" (503) rather than a fault of ours (500)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

from api.problems import caused_by_unavailable


def wrapped(cause: Exception) -> DBAPIError:
    """As SQLAlchemy's asyncpg dialect wraps an error while it opens a connection."""
    adapted = Exception(str(cause))
    adapted.__cause__ = cause
    return DBAPIError("SELECT 1", None, adapted)


def test_postgres_still_recovering_is_unavailable() -> None:
    assert caused_by_unavailable(wrapped(asyncpg.CannotConnectNowError("not yet accepting connections")))
    assert caused_by_unavailable(wrapped(ConnectionRefusedError(111, "Connection refused")))


def test_a_statement_refused_by_postgres_is_not() -> None:
    assert not caused_by_unavailable(wrapped(asyncpg.UniqueViolationError("duplicate key")))
    assert not caused_by_unavailable(DBAPIError("SELECT 1", None, Exception("boom")))
