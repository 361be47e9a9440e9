"""/v1/apps/{app}/functions/{fn}/calls (invoke) and /v1/calls (read, wait, list, cancel)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Operation, Reference, RequestBody, Schema
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import ServerSentEvent

from api.auth.guards import requires
from api.calls.dispatch import CompletionWaiter, Dispatcher
from api.calls.logs import PAGE_LINES, as_text, follow
from api.calls.models import Call
from api.calls.schemas import (
    MAX_MAP_INPUTS,
    CallInput,
    CallOut,
    CallPage,
    EndedCalls,
    LogLine,
    LogPage,
    MapInput,
    MapOut,
    PayloadType,
    PickledInput,
    WaitForCalls,
)
from api.calls.service import CallFilter, CallService, call_out
from api.calls.states import TERMINAL, CallStatus
from api.dependencies import Caller, CallerRequest, Cursor, IdempotencyKeyHeader, Limit
from api.errors import BadRequest
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.tokens.schemas import Scope

MAX_WAIT_SECONDS = 60
MAX_MAP_BODY_BYTES = 16 << 20  # a map's inputs together; each one is still held to max_input_bytes
_WAIT_PREFERENCE = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d{1,6})(?:$|[,;\s])", re.IGNORECASE)

Calls = NamedDependency[CallService]
PreferHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Prefer",
        required=False,
        description=f"`wait=N` (N ≤ {MAX_WAIT_SECONDS}): answer 200 with the result if the call ends within N s.",
    ),
]
WaitQuery = Annotated[
    int,
    QueryParameter(ge=0, le=MAX_WAIT_SECONDS, description=f"Seconds to wait for the end (≤ {MAX_WAIT_SECONDS})."),
]
PENDING_RESPONSE = {
    202: ResponseSpec(data_container=CallOut, description="Accepted; not finished yet. `Location` names the call.")
}


_CALL_INPUT = msgspec.json.Decoder(CallInput)


@dataclass
class CallInputOperation(Operation):
    """The body is read by the route itself (JSON, or pickled bytes it never reads), so the spec says it by hand."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description='The arguments: JSON (`{"args": [...], "kwargs": {...}}`; a body of any other content '
            f"type is read as JSON too), or with `Content-Type: {PayloadType.PICKLE.value}` the bytes of "
            "`cloudpickle.dumps((args, kwargs))` for Python values JSON cannot carry. Pickled arguments are stored "
            "and handed to the function's sandbox as they are: only the sandbox decodes them. Either way the "
            "arguments are held to the limit on a call's input size (413).",
            content={
                PayloadType.JSON.value: MediaTypeSpec(schema=Reference(ref="#/components/schemas/CallInput")),
                PayloadType.PICKLE.value: MediaTypeSpec(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                ),
            },
        )


async def read_call_input(request: Request[Any, Any, Any]) -> CallInput | PickledInput:
    """The call's arguments: parsed when JSON, taken as they are when pickled."""
    body = await request.body()
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() == PayloadType.PICKLE:
        return PickledInput(payload=body)
    try:
        return _CALL_INPUT.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is one: api.problems tells malformed from invalid
        raise ValidationException(str(exc), extra=[{"message": str(exc), "key": "body", "source": "body"}]) from None


def wait_preference(prefer: str | None) -> int:
    if not prefer:
        return 0
    match = _WAIT_PREFERENCE.search(prefer)
    if match is None:
        return 0
    seconds = int(match.group(1))
    if seconds > MAX_WAIT_SECONDS:
        raise BadRequest(f"Prefer: wait={seconds} exceeds the limit of {MAX_WAIT_SECONDS} seconds")
    return seconds


async def as_it_stands(call: Call, state: State) -> CallOut:
    """The call; a queued one says why its function's calls wait, when the scheduler has said so."""
    out = call_out(call)
    if out.status == CallStatus.QUEUED:
        dispatcher: Dispatcher = state.dispatcher
        out.waiting = (await dispatcher.waiting([call.function_id])).get(call.function_id)
    return out


def answer(call: CallOut, waited: int) -> Response[CallOut]:
    done = call.status in TERMINAL
    headers = {"Location": f"/v1/calls/{call.id}"}
    if waited:
        headers["Preference-Applied"] = f"wait={waited}"
    return Response(call, status_code=200 if done else 202, headers=headers)


class InvokeController(Controller):
    path = "/v1/apps/{app_name:str}/functions/{function_name:str}/calls"
    tags = ["calls"]
    guards = [requires(Scope.INVOKE)]

    @post(
        operation_id="create_call",
        summary="Call a function",
        description="Accepted calls are committed before the answer. Without `Prefer: wait=N` the answer is "
        "202 with `Location`; with it, 200 and the result when the call ends within N seconds. "
        "`version` pins a deployed version; without it the app's current version runs. A result that JSON "
        "cannot carry comes back pickled, in `result_b64` with its `result_type`.",
        status_code=200,
        operation_class=CallInputOperation,
        responses={**PENDING_RESPONSE, **problem_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    )
    async def create_call(
        self,
        calls: Calls,
        request: CallerRequest,
        app_name: FromPath[str],
        function_name: FromPath[str],
        prefer: PreferHeader = None,
        idempotency_key: IdempotencyKeyHeader = None,
        version: Annotated[int | None, QueryParameter(ge=1, description="Pin a deployed version.")] = None,
    ) -> Response[CallOut]:
        wait = wait_preference(prefer)
        principal = request.user  # not `Caller`: see CallerRequest
        call = await calls.submit(
            principal.workspace_id,
            app_name,
            function_name,
            await read_call_input(request),
            version=version,
            idempotency_key=idempotency_key,
        )
        if wait and CallStatus(call.status) not in TERMINAL:
            call = await calls.wait(request.app.state.waiter, principal.workspace_id, call.id, wait, known=call)
            return answer(await as_it_stands(call, request.app.state), wait)
        return answer(call_out(call), wait)


class MapController(Controller):
    path = "/v1/apps/{app_name:str}/functions/{function_name:str}/map"
    tags = ["calls"]
    guards = [requires(Scope.INVOKE)]

    @post(
        operation_id="create_map",
        summary="Call a function once per input",
        description=f"Up to {MAX_MAP_INPUTS} inputs in one request, one call each, committed together before "
        "the answer and queued in one push. The inputs are JSON (`inputs`) or, for Python values JSON cannot carry, "
        "pickled (`inputs_b64`), never both in one request. The answer names the batch and its calls in the order "
        "of the inputs; `POST /v1/calls/wait` collects their results as they end. `Idempotency-Key` makes a retry "
        "return the same batch.",
        status_code=202,
        request_max_body_size=MAX_MAP_BODY_BYTES,
        responses=problem_responses(400, 401, 403, 404, 413, 422, 429),
    )
    async def create_map(
        self,
        data: JSONBody[MapInput],
        calls: Calls,
        request: CallerRequest,
        app_name: FromPath[str],
        function_name: FromPath[str],
        idempotency_key: IdempotencyKeyHeader = None,
        version: Annotated[int | None, QueryParameter(ge=1, description="Pin a deployed version.")] = None,
    ) -> MapOut:
        batch_id, ids = await calls.submit_many(
            request.user.workspace_id,
            app_name,
            function_name,
            data,
            version=version,
            idempotency_key=idempotency_key,
        )
        return MapOut(id=batch_id, calls=ids)


class CallController(Controller):
    path = "/v1/calls"
    tags = ["calls"]

    @post(
        "/wait",
        operation_id="wait_for_calls",
        summary="Wait for any of many calls to end",
        description="Answers as soon as one of `ids` has ended (or after `wait` seconds) with all of them that "
        "have ended; ask again with the rest. Ids of other workspaces or of no call are left out.",
        status_code=200,
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 413, 422),
    )
    async def wait_for_calls(self, data: JSONBody[WaitForCalls], calls: Calls, request: CallerRequest) -> EndedCalls:
        waiter: CompletionWaiter = request.app.state.waiter
        ended = await calls.wait_any(waiter, request.user.workspace_id, data.ids, data.wait)
        return EndedCalls(items=[call_out(c) for c in ended])

    @get(
        operation_id="list_calls",
        summary="List calls, newest first",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403),
    )
    async def list_calls(
        self,
        calls: Calls,
        principal: Caller,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
        status: Annotated[CallStatus | None, QueryParameter()] = None,
        app: Annotated[str | None, QueryParameter(max_length=64)] = None,
        function: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> CallPage:
        rows, next_cursor = await calls.find(principal.workspace_id, CallFilter(status, app, function), cursor, limit)
        return CallPage(items=[call_out(c) for c in rows], next_cursor=next_cursor)

    @get(
        "/{call_id:str}",
        operation_id="get_call",
        summary="Get a call",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_call(self, calls: Calls, principal: Caller, state: State, call_id: FromPath[str]) -> CallOut:
        return await as_it_stands(await calls.get(principal.workspace_id, call_id), state)

    @get(
        "/{call_id:str}/result",
        operation_id="get_call_result",
        summary="Wait for a call's end",
        description="200 with the call once it has ended; 202 with the call as it stands after `wait` seconds.",
        guards=[requires(Scope.READ)],
        responses={**PENDING_RESPONSE, **problem_responses(400, 401, 403, 404)},
    )
    async def get_call_result(
        self, calls: Calls, principal: Caller, state: State, call_id: FromPath[str], wait: WaitQuery = 0
    ) -> Response[CallOut]:
        waiter: CompletionWaiter = state.waiter
        return answer(await as_it_stands(await calls.wait(waiter, principal.workspace_id, call_id, wait), state), 0)

    @get(
        "/{call_id:str}/logs",
        operation_id="get_call_logs",
        summary="A call's log lines",
        description="JSON pages by default (`after` = the last `seq` seen). With `Accept: text/plain`, the lines as "
        "text. With `Accept: text/event-stream`, an SSE stream that follows the call until it ends (event `end`), "
        "each line an event whose id is its `seq`; reconnect with `Last-Event-ID` to resume.",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_call_logs(
        self,
        request: Request[Any, Any, State],
        calls: Calls,
        principal: Caller,
        state: State,
        call_id: FromPath[str],
        after: Annotated[int, QueryParameter(ge=0, description="Only lines with a greater `seq`.")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_LINES)] = PAGE_LINES,
    ) -> Response[LogPage]:
        accept = request.headers.get("accept", "")
        if "text/event-stream" in accept:
            await calls.get(principal.workspace_id, call_id)
            resume = request.headers.get("last-event-id", "")
            start = int(resume) if resume.isdigit() else after
            return ServerSentEvent(follow(state.sessionmaker, call_id, start))  # type: ignore[return-value]
        lines = await calls.logs(principal.workspace_id, call_id, after, limit)
        if "text/plain" in accept:
            return Response(as_text(lines), media_type="text/plain")  # type: ignore[arg-type]
        items = [
            LogLine(seq=ln.seq, attempt=ln.attempt, stream=ln.stream, line=ln.line, created_at=ln.created_at)
            for ln in lines
        ]
        return Response(LogPage(items=items, next_after=items[-1].seq if len(items) == limit else None))

    @delete(
        "/{call_id:str}",
        operation_id="cancel_call",
        summary="Cancel a call",
        description="A queued call never runs; a running one is killed. A call that already ended is unchanged.",
        status_code=200,
        guards=[requires(Scope.INVOKE)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def cancel_call(self, calls: Calls, principal: Caller, call_id: FromPath[str]) -> CallOut:
        return call_out(await calls.cancel(principal.workspace_id, call_id))
