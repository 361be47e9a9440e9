"""Containers: one sandboxed process tree serving one function version on one node."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Container(CreatedAt, Base):
    __tablename__ = "containers"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'starting', 'ready', 'stopping', 'exited')", name="state"),
        Index("ix_containers_function_id_live", "function_id", postgresql_where="state <> 'exited'"),
        Index("ix_containers_node_id_live", "node_id", postgresql_where="state <> 'exited'"),
        Index("ix_containers_workspace_id_live", "workspace_id", "id", postgresql_where="state <> 'exited'"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    function_id: Mapped[str] = mapped_column(ForeignKey("functions.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    # GPUs the scheduler reserved for it on its node; the agent picks the devices.
    gpu_model: Mapped[str | None] = mapped_column(String(40))
    gpu_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Which of them (the node's GPU indices) its agent gave it, as the agent reports it.
    gpu_indices: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    # Inputs it is running now, as the agent last reported.
    busy: Mapped[int] = mapped_column(Integer, default=0)
    idle_since: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    exited_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(Text)
    cold_start_ms: Mapped[float | None]
    # Set while it is asleep: the scheduler scaled down its function's last container and its process
    # exited, but the container stays placed with its zygote warm on the node, and its next input
    # forks a new process there without a new placement. Claiming an input clears it.
    asleep_since: Mapped[datetime | None]
