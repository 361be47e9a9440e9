"""Secrets: a workspace's named sets of environment variables, their values sealed with AES-GCM."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Secret(CreatedAt, Base):
    __tablename__ = "secrets"
    __table_args__ = (
        Index("ix_secrets_workspace_id_name", "workspace_id", "name", unique=True),
        Index("ix_secrets_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    # The variable names, in plain text so that a list can show them; the values are sealed.
    keys: Mapped[list[str]] = mapped_column(ARRAY(String(128)))
    # The key of SKIFF_SECRET_KEYS that sealed it, so that rotation can tell old rows from new.
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    # AES-GCM of the values as a JSON object, the workspace id and name bound as associated data.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
