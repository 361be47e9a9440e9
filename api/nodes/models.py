"""Nodes: machines running an agent, as they registered and last reported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Node(CreatedAt, Base):
    __tablename__ = "nodes"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("state IN ('ready', 'draining', 'down')", name="state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(255))
    agent_version: Mapped[str] = mapped_column(String(32))
    cpus: Mapped[float] = mapped_column(Float)
    memory_mib: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    gpu_usage: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    # What the node holds warm, as it last reported: placement prefers such nodes.
    cached_images: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    warm_functions: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    labels: Mapped[dict[str, str]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16))
    # Bumped on every registration, so reports from an agent's earlier life are recognisable.
    epoch: Mapped[int] = mapped_column(Integer, default=1)
    registered_at: Mapped[datetime]
    last_heartbeat_at: Mapped[datetime]
