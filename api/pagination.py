"""Cursor pagination over time-ordered ids, newest first."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from api.errors import BadRequest
from api.ids import ID_PATTERN

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
T = TypeVar("T")
Columns = TypeVarTuple("Columns")


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    if len(cursor) > 200:
        raise BadRequest("cursor is not one this server issued (it is too long)")
    try:
        padded = (cursor + "=" * (-len(cursor) % 4)).encode()
        value = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("cursor is not one this server issued; pass `next_cursor` from the last page") from None
    if not ID_PATTERN.match(value):
        raise BadRequest("cursor is not one this server issued; pass `next_cursor` from the last page")
    return value


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def page_query(
    stmt: Select[*Columns], id_column: InstrumentedAttribute[str], cursor: str | None, limit: int
) -> Select[*Columns]:
    """Newest first; one extra row tells whether another page follows."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    return stmt.order_by(id_column.desc()).limit(check_limit(limit) + 1)


def split_page(rows: Sequence[T], limit: int, id_of: Any) -> tuple[list[T], str | None]:
    items = list(rows[:limit])
    next_cursor = encode_cursor(id_of(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
