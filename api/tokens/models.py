"""API tokens: user tokens (`sk_`) with scopes and node tokens (`nk_`) for agents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Token(CreatedAt, Base):
    __tablename__ = "tokens"
    __table_args__ = (
        CheckConstraint("kind IN ('user', 'node')", name="kind"),
        Index("ix_tokens_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    # The first characters of the plaintext, enough to recognise a token in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the plaintext; the plaintext itself is never stored.
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
