"""A call's log lines: stored as the agent ships them, read as a page, plain text, or an SSE stream
that follows the call until it ends and resumes after `Last-Event-ID`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.calls.models import Call, CallLogLine
from api.calls.states import TERMINAL, CallStatus
from api.execution.schemas import LogRecord

MAX_LINES_PER_ATTEMPT = 10_000
PAGE_LINES = 1000
FOLLOW_POLL_SECONDS = 0.25
FOLLOW_MAX_SECONDS = 3600.0


async def append_lines(session: AsyncSession, call_id: str, attempt: int, records: Sequence[LogRecord]) -> int:
    """Stores up to the per-attempt cap, then one marker line saying how many were dropped."""
    stored = (
        await session.scalar(
            select(func.count())
            .select_from(CallLogLine)
            .where(CallLogLine.call_id == call_id, CallLogLine.attempt == attempt)
        )
        or 0
    )
    room = max(MAX_LINES_PER_ATTEMPT - stored, 0)
    rows = [{"call_id": call_id, "attempt": attempt, "stream": r.stream, "line": r.line} for r in records[:room]]
    if len(records) > room and stored <= MAX_LINES_PER_ATTEMPT:
        rows.append(
            {
                "call_id": call_id,
                "attempt": attempt,
                "stream": "system",
                "line": f"[log truncated: the limit is {MAX_LINES_PER_ATTEMPT} lines per attempt]",
            }
        )
    if rows:
        await session.execute(insert(CallLogLine), rows)
    return len(rows)


async def read_lines(session: AsyncSession, call_id: str, after: int, limit: int = PAGE_LINES) -> list[CallLogLine]:
    return list(
        (
            await session.scalars(
                select(CallLogLine)
                .where(CallLogLine.call_id == call_id, CallLogLine.seq > after)
                .order_by(CallLogLine.seq)
                .limit(limit)
            )
        ).all()
    )


def as_text(lines: Sequence[CallLogLine]) -> str:
    return "".join(f"{line.line}\n" for line in lines)


async def follow(
    sessionmaker: async_sessionmaker[AsyncSession], call_id: str, after: int
) -> AsyncIterator[ServerSentEventMessage]:
    """SSE events: one `log` event per line (id = its sequence number), then `end` with the status."""
    waited = 0.0
    while waited < FOLLOW_MAX_SECONDS:
        async with sessionmaker() as session:
            lines = await read_lines(session, call_id, after)
            raw_status = await session.scalar(select(Call.status).where(Call.id == call_id))
        status = CallStatus(raw_status or CallStatus.CANCELLED)  # a deleted call ends the stream
        for line in lines:
            after = line.seq
            data = json.dumps({"stream": line.stream, "line": line.line, "attempt": line.attempt})
            yield ServerSentEventMessage(id=line.seq, event="log", data=data)
        if not lines and status in TERMINAL:
            yield ServerSentEventMessage(event="end", data=json.dumps({"status": status.value}))
            return
        if not lines:
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            waited += FOLLOW_POLL_SECONDS
