"""/v1/schedules: call a function on a cron expression or a fixed period; pause, resume, delete."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth.guards import requires
from api.calls.service import CallService
from api.dependencies import Caller, Cursor, DbSession, IdempotencyKeyHeader, Limit
from api.idempotency.service import IdempotencyService, request_digest
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.schedules.schemas import ScheduleCreate, ScheduleDetail, ScheduleOut, SchedulePage
from api.schedules.service import ScheduleService, schedule_detail, schedule_out
from api.tokens.schemas import Scope

Calls = NamedDependency[CallService]


class ScheduleController(Controller):
    path = "/v1/schedules"
    tags = ["schedules"]

    @post(
        operation_id="create_schedule",
        summary="Create a schedule",
        description="Calls the app's current version of `function` at every slot of `cron` (read in `timezone`) "
        "or every `period_seconds`. A slot missed while the scheduler was down fires once if it is at most "
        "a minute late, never as a burst. The same `Idempotency-Key` and body return the same schedule.",
        status_code=201,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404, 413, 422),
    )
    async def create_schedule(
        self,
        data: JSONBody[ScheduleCreate],
        session: DbSession,
        calls: Calls,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader,
    ) -> Response[ScheduleOut]:
        service = ScheduleService(session, calls)
        keys = IdempotencyService(session, principal.workspace_id)
        if idempotency_key is not None:
            earlier = await keys.claim("create_schedule", idempotency_key, request_digest(data))
            if earlier is not None:
                return Response(schedule_out(await service.get(principal.workspace_id, earlier)), status_code=200)
        schedule = await service.create(principal.workspace_id, data)
        if idempotency_key is not None:
            await keys.record("create_schedule", idempotency_key, schedule.id)
        return Response(schedule_out(schedule), status_code=201)

    @get(
        operation_id="list_schedules",
        summary="List schedules",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403),
    )
    async def list_schedules(
        self, session: DbSession, calls: Calls, principal: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> SchedulePage:
        rows, next_cursor = await ScheduleService(session, calls).list(principal.workspace_id, cursor, limit)
        return SchedulePage(items=[schedule_out(s) for s in rows], next_cursor=next_cursor)

    @get(
        "/{schedule_id:str}",
        operation_id="get_schedule",
        summary="Get a schedule and its next fire times",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_schedule(
        self, session: DbSession, calls: Calls, principal: Caller, schedule_id: FromPath[str]
    ) -> ScheduleDetail:
        return schedule_detail(await ScheduleService(session, calls).get(principal.workspace_id, schedule_id))

    @post(
        "/{schedule_id:str}/pause",
        operation_id="pause_schedule",
        summary="Pause a schedule",
        description="A paused schedule makes no calls; pausing twice is harmless.",
        status_code=200,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def pause_schedule(
        self, session: DbSession, calls: Calls, principal: Caller, schedule_id: FromPath[str]
    ) -> ScheduleOut:
        return schedule_out(await ScheduleService(session, calls).pause(principal.workspace_id, schedule_id))

    @post(
        "/{schedule_id:str}/resume",
        operation_id="resume_schedule",
        summary="Resume a paused schedule",
        description="The next fire is the first slot after now: slots that passed while paused are not made up.",
        status_code=200,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def resume_schedule(
        self, session: DbSession, calls: Calls, principal: Caller, schedule_id: FromPath[str]
    ) -> ScheduleOut:
        return schedule_out(await ScheduleService(session, calls).resume(principal.workspace_id, schedule_id))

    @delete(
        "/{schedule_id:str}",
        operation_id="delete_schedule",
        summary="Delete a schedule",
        description="Calls it already made are kept.",
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def delete_schedule(
        self, session: DbSession, calls: Calls, principal: Caller, schedule_id: FromPath[str]
    ) -> None:
        await ScheduleService(session, calls).delete(principal.workspace_id, schedule_id)
