"""Calls: every accepted invocation, its attempts, lease and outcome; and their log lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled')", name="status"
        ),
        Index("ix_calls_workspace_id_id", "workspace_id", "id"),
        Index("ix_calls_function_id_queued", "function_id", postgresql_where="status IN ('queued', 'running')"),
        Index("ix_calls_workspace_id_active", "workspace_id", postgresql_where="status IN ('queued', 'running')"),
        Index("ix_calls_lease_expires_at_running", "lease_expires_at", postgresql_where="status = 'running'"),
        Index("ix_calls_batch_id", "batch_id", postgresql_where="batch_id IS NOT NULL"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    function_id: Mapped[str] = mapped_column(ForeignKey("functions.id", ondelete="CASCADE"))
    # Names as they were when the call was made, so reading a call needs no joins.
    app_name: Mapped[str] = mapped_column(String(64))
    function_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    input: Mapped[bytes] = mapped_column(LargeBinary)
    input_type: Mapped[str] = mapped_column(String(64))
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    result_type: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A running attempt's lease: its token and expiry, judged by Postgres now().
    lease_token: Mapped[str | None] = mapped_column(String(40))
    lease_expires_at: Mapped[datetime | None]
    # Not to be handed out before this time (retry backoff); and when it was last pushed to Redis.
    not_before: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    node_id: Mapped[str | None] = mapped_column(String(40))
    container_id: Mapped[str | None] = mapped_column(String(40))
    cold_start: Mapped[bool | None] = mapped_column(Boolean)
    cold_start_ms: Mapped[float | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Calls made together by one map request, and each one's place in it.
    batch_id: Mapped[str | None] = mapped_column(String(40))
    batch_index: Mapped[int | None] = mapped_column(Integer)


class CallLogLine(CreatedAt, Base):
    __tablename__ = "call_log_lines"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(8))
    line: Mapped[str] = mapped_column(Text)
