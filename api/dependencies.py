"""Values that routes receive: the request's session, principal and common headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.calls.service import CallService
from api.db import session_scope
from api.execution.service import ExecutionService
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.settings import Settings


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(state.sessionmaker):
        yield session


def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


# The hottest routes read the principal off the request instead of taking `Caller`: Litestar resolves
# two or more dependencies of a route in a task group of their own, a cost paid on every request.
CallerRequest = Request[Principal, Any, State]

# Route parameters annotated with these receive the dependency of the same name.
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="Retry-safe key: the same key and body return the same object (keys are kept 24 hours).",
    ),
]

Cursor = Annotated[
    str | None, QueryParameter(description="`next_cursor` of the previous page; omit for the first page.")
]
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."),
]


def provide_calls(state: State) -> CallService:
    settings: Settings = state.settings
    return CallService(
        state.sessionmaker,
        state.store,
        state.dispatcher,
        settings.max_input_bytes,
        settings.lost_attempt_retries,
        state.quota,
        state.backlog,
        state.idle_slots,
    )


def provide_execution(state: State) -> ExecutionService:
    settings: Settings = state.settings
    return ExecutionService(
        state.sessionmaker,
        state.store,
        state.dispatcher,
        lease_seconds=settings.lease_seconds,
        max_result_bytes=settings.max_result_bytes,
        waiter=state.waiter,
        keyring=state.keyring,
        idle_slots=state.idle_slots,
    )


DEPENDENCIES = {
    "session": Provide(provide_session),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "calls": Provide(provide_calls, sync_to_thread=False),
    "execution": Provide(provide_execution, sync_to_thread=False),
}
