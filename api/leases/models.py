"""Named leader leases: who leads the scheduler, until when, and under which fencing token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base


class LeaderLease(Base):
    __tablename__ = "leader_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    # Grows by one each time leadership changes hands; writes made by a leader carry it.
    fencing_token: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]
