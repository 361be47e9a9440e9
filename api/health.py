"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import get
from litestar.datastructures import State
from sqlalchemy import text

from api.errors import Unavailable
from api.problems import problem_responses

CHECK_TIMEOUT_SECONDS = 2.0


class Health(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str]


@get(
    "/livez",
    opt={"public": True},
    security=[],
    tags=["health"],
    operation_id="livez",
    summary="The process is up",
    sync_to_thread=False,
)
def livez() -> Health:
    return Health(status="ok", checks={})


@get(
    "/readyz",
    opt={"public": True},
    security=[],
    tags=["health"],
    operation_id="readyz",
    summary="Postgres and Redis answer",
    responses=problem_responses(503),
)
async def readyz(state: State) -> Health:
    async def postgres() -> None:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await state.redis.ping()

    checks: dict[str, str] = {}
    for name, probe in (("postgres", postgres), ("redis", redis)):
        try:
            await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        raise Unavailable(f"not ready: {', '.join(failing)} unavailable ({checks})", retry_after=2)
    return Health(status="ok", checks=checks)
