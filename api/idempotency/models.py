"""Idempotency keys, stored in the same transaction as the object they created."""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class IdempotencyKey(CreatedAt, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("workspace_id", "operation", "key"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    operation: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    resource_id: Mapped[str | None] = mapped_column(String(40))
