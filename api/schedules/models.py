"""Schedules: a function called on a cron expression or a fixed period, with stored arguments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Schedule(CreatedAt, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("(cron IS NULL) <> (period_seconds IS NULL)", name="cron_or_period"),
        Index("ix_schedules_workspace_id_id", "workspace_id", "id"),
        # The scheduler's question every tick: which active schedules are due.
        Index("ix_schedules_next_fire_at_active", "next_fire_at", postgresql_where="NOT paused"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # By name, like the stable call URL: each fire reaches the app's current version.
    app_name: Mapped[str] = mapped_column(String(64))
    function_name: Mapped[str] = mapped_column(String(64))
    cron: Mapped[str | None] = mapped_column(String(128))
    period_seconds: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    # The call's arguments as the JSON the calls API takes (api.calls.schemas.CallInput), byte for byte.
    input: Mapped[bytes] = mapped_column(LargeBinary)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The earliest slot not yet handled; the scheduler moves it past now each time it decides.
    next_fire_at: Mapped[datetime]
    # The slot of the last call made, and that call.
    last_fired_at: Mapped[datetime | None]
    last_call_id: Mapped[str | None] = mapped_column(String(40))
