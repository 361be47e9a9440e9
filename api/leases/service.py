"""Acquiring, renewing and releasing a leader lease, judged by Postgres `now()` only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, literal, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.leases.models import LeaderLease


class LeaseService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> int | None:
        """The fencing token if `holder` now leads (newly or still), else None."""
        expires = func.now() + literal(ttl)
        insert_stmt = insert(LeaderLease).values(name=name, holder=holder, fencing_token=1, expires_at=expires)
        stmt = insert_stmt.on_conflict_do_update(
            index_elements=[LeaderLease.name],
            set_={
                "holder": holder,
                "expires_at": expires,
                "fencing_token": case(
                    (LeaderLease.holder == holder, LeaderLease.fencing_token),
                    else_=LeaderLease.fencing_token + 1,
                ),
            },
            where=(LeaderLease.holder == holder) | (LeaderLease.expires_at < func.now()),
        ).returning(LeaderLease.fencing_token)
        token: int | None = await self.session.scalar(stmt)
        return token

    async def release(self, name: str, holder: str) -> None:
        await self.session.execute(
            update(LeaderLease)
            .where(LeaderLease.name == name, LeaderLease.holder == holder)
            .values(expires_at=func.now() - literal(timedelta(seconds=1)))
        )
