"""Recording how an attempt ended. The first terminal write wins; a late or stale one is refused."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps.models import Function
from api.calls.logs import append_lines
from api.calls.models import Call
from api.calls.retries import retry_delay, should_retry
from api.calls.schemas import PayloadType
from api.calls.states import TERMINAL, CallStatus
from api.calls.store import Result
from api.execution.schemas import CallOutcome, Outcome


def stored_result(outcome: CallOutcome) -> Result:
    """A success's result as stored: the bytes of `result_b64` as they came (never decoded here), or
    the JSON text of `result`."""
    if outcome.result_b64 is not None and outcome.result_type is not None:
        return Result(outcome.result_b64, outcome.result_type.value)
    return Result((outcome.result if outcome.result is not None else "null").encode(), PayloadType.JSON.value)


MAX_NAMED_CALLS = 10


def late_report(outcomes: Sequence[CallOutcome], states: Mapping[str, tuple[str, int]]) -> str:
    """Why no outcome of a batch was recorded, call by call, from each call's `(status, attempt)` now: the
    agent that reported them logs it, and an operator reading that log learns which attempt was superseded."""
    named = [_refusal(o.call_id, states.get(o.call_id)) for o in outcomes[:MAX_NAMED_CALLS]]
    if len(outcomes) > MAX_NAMED_CALLS:
        named.append(f"and {len(outcomes) - MAX_NAMED_CALLS} more")
    return "late outcome report, nothing recorded: " + "; ".join(named)


def _refusal(call_id: str, state: tuple[str, int] | None) -> str:
    if state is None:
        return f"call {call_id[:64]!r} not found"
    status, attempt = state
    if CallStatus(status) in TERMINAL:
        return f"call {call_id} already ended ({status})"
    now = f"attempt {attempt} runs now" if status == CallStatus.RUNNING else f"queued again after attempt {attempt}"
    return f"call {call_id}: the reporting attempt no longer holds its lease ({now})"


class OutcomeRecorder:
    def __init__(self, session: AsyncSession, max_result_bytes: int, rng: random.Random | None = None) -> None:
        self.session = session
        self.max_result_bytes = max_result_bytes
        self.rng = rng

    async def record(self, outcome: CallOutcome) -> tuple[bool, bool]:
        """(accepted, terminal): whether the lease still held, and whether the call has now ended."""
        held = (
            Call.id == outcome.call_id,
            Call.lease_token == outcome.lease_token,
            Call.status == CallStatus.RUNNING.value,
        )
        row = (
            await self.session.execute(
                select(Call.attempt, Call.max_attempts, Function.spec)
                .join(Function, Function.id == Call.function_id)
                .where(*held)
                .with_for_update(of=Call)
            )
        ).one_or_none()
        if row is None:
            return False, False
        attempt, max_attempts, spec = row
        await self._store_logs(outcome, attempt)
        values = self._terminal_values(outcome)
        retry_policy: dict[str, Any] = spec.get("retries", {})
        if values["status"] != CallStatus.SUCCEEDED.value and should_retry(
            outcome.outcome, attempt, max_attempts, retry_policy
        ):
            delay = retry_delay(attempt, retry_policy, self.rng)
            await self.session.execute(
                update(Call)
                .where(*held)
                .values(
                    status=CallStatus.QUEUED.value,
                    lease_token=None,
                    lease_expires_at=None,
                    published_at=None,
                    not_before=func.now() + literal(timedelta(seconds=delay)),
                    error=values["error"],
                )
            )
            return True, False
        await self.session.execute(
            update(Call).where(*held).values(**values, finished_at=func.now(), lease_token=None, lease_expires_at=None)
        )
        return True, True

    def _terminal_values(self, outcome: CallOutcome) -> dict[str, Any]:
        error = (
            {
                "type": outcome.error.type,
                "message": outcome.error.message,
                "traceback": outcome.error.traceback,
            }
            if outcome.error
            else None
        )
        if outcome.outcome is Outcome.SUCCEEDED:
            result = stored_result(outcome)
            size = len(result.value)
            if size > self.max_result_bytes:
                return {
                    "status": CallStatus.FAILED.value,
                    "result": None,
                    "result_type": None,
                    "error": {
                        "type": "ResultTooLarge",
                        "message": f"the result is {size} bytes; the limit is {self.max_result_bytes} bytes",
                    },
                }
            return {
                "status": CallStatus.SUCCEEDED.value,
                "result": result.value,
                "result_type": result.type,
                "error": None,
            }
        status = {
            Outcome.FAILED: CallStatus.FAILED,
            Outcome.CRASHED: CallStatus.FAILED,
            Outcome.TIMED_OUT: CallStatus.TIMED_OUT,
        }[outcome.outcome]
        return {
            "status": status.value,
            "result": None,
            "result_type": None,
            "error": error or {"type": outcome.outcome.value, "message": outcome.outcome.value},
        }

    async def _store_logs(self, outcome: CallOutcome, attempt: int) -> None:
        await append_lines(self.session, outcome.call_id, attempt, outcome.logs)
