"""Apps, their numbered deployments, and the functions each deployment holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class App(CreatedAt, Base):
    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    # The version the stable routes reach; rollback moves it.
    current_version: Mapped[int | None] = mapped_column(Integer)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)


class Deployment(CreatedAt, Base):
    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("app_id", "version"),
        # The scheduler looks for these on every tick; once planned, a deployment never is again.
        Index("ix_deployments_unplanned", "id", postgresql_where=text("NOT environments_planned")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    bundle_digest: Mapped[str] = mapped_column(String(64))
    # What the deployment holds, whatever the archive's timestamps: re-deploying it makes no new version.
    content_digest: Mapped[str] = mapped_column(String(64), default="", server_default="")
    bundle_size: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Whether the scheduler has decided which environments to build ahead of the first call.
    environments_planned: Mapped[bool] = mapped_column(default=False, server_default="false")


class Function(CreatedAt, Base):
    """One function of one deployment; calls point at the exact version they ran."""

    __tablename__ = "functions"
    __table_args__ = (
        UniqueConstraint("deployment_id", "name"),
        Index("ix_functions_app_id_name", "app_id", "name"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    # The validated manifest entry (api.deployments.manifest.FunctionSpec as builtins).
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    image_key: Mapped[str] = mapped_column(String(64))


class FunctionSettings(Base):
    """Autoscaling settings changed at runtime for a function of an app, whatever its version
    (see api.apps.autoscaling)."""

    __tablename__ = "function_settings"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    function_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    overrides: Mapped[dict[str, int]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
