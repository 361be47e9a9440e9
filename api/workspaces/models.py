"""Workspaces: the tenant boundary. Every other row belongs to exactly one."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, CreatedAt


class Workspace(CreatedAt, Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
