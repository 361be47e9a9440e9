"""Environment builds: a node building one function's environment, asked for ahead of the
function's first call (a request the scheduler places) or done by a container's start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class EnvironmentBuild(CreatedAt, Base):
    __tablename__ = "environment_builds"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'building', 'succeeded', 'failed')", name="state"),
        Index("ix_environment_builds_deployment_id", "deployment_id"),
        Index("ix_environment_builds_function_id", "function_id"),
        # The scheduler's and the node polls' look at requests still to place, deliver or finish.
        Index("ix_environment_builds_open", "node_id", postgresql_where=text("state IN ('pending', 'building')")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    function_id: Mapped[str] = mapped_column(ForeignKey("functions.id", ondelete="CASCADE"))
    # None while a request waits for a ready node that could run the function.
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    image_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    # Asked for ahead of the first call; false for a build a container's start did.
    requested: Mapped[bool] = mapped_column(default=False, server_default="false")
    seconds: Mapped[float] = mapped_column(default=0.0, server_default="0")
    log: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A request's way to its node: handed out by a poll (with the node's epoch then), started, ended.
    delivered_at: Mapped[datetime | None]
    node_epoch: Mapped[int | None] = mapped_column(Integer)
    deliveries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
