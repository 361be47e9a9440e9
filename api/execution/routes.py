"""/v1/agent/...: what agents call to get containers to run, inputs to run in them, and to report.

A container slot asks for inputs over a WebSocket when it can (`/containers/{id}/inputs`): the same
NextInput and NextInputAnswer JSON as `POST /containers/{id}/next`, one answer per message, with
authentication paid once per connection instead of once per call. A refusal closes the socket with
code 4000 + the HTTP status it would have had (4404, 4409, 4413, 4422) and the detail as the reason;
a failure on our side closes it with 1011, after which the agent tries again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, WebSocket, get, post, websocket
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from api.auth.guards import node_only
from api.auth.principal import Principal
from api.blobs import BlobStream
from api.builds.schemas import BuildProgress, BuildProgressResult
from api.dependencies import Caller, CallerRequest
from api.errors import NotFound, SkiffError
from api.execution.schemas import (
    BuildReport,
    LogShipment,
    LogShipmentResult,
    NextInput,
    NextInputAnswer,
    NodePoll,
    NodeWork,
    OutcomeBatch,
    OutcomeResults,
)
from api.execution.service import ExecutionService
from api.problems import UNAVAILABLE, problem_responses
from api.settings import Settings

log = logging.getLogger("skiff.api")

Execution = NamedDependency[ExecutionService]


class AgentWorkController(Controller):
    path = "/v1/agent"
    tags = ["agent"]
    guards = [node_only]

    @post(
        "/nodes/{node_id:str}/poll",
        operation_id="poll_node",
        status_code=200,
        summary="Report containers, renew leases, and wait for commands",
        responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
    )
    async def poll_node(
        self, data: JSONBody[NodePoll], execution: Execution, principal: Caller, node_id: FromPath[str]
    ) -> NodeWork:
        return await execution.poll(principal, node_id, data)

    @post(
        "/containers/{container_id:str}/next",
        operation_id="next_input",
        status_code=200,
        summary="Report the last input's outcome and wait for the next input",
        responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
    )
    async def next_input(
        self, data: JSONBody[NextInput], execution: Execution, request: CallerRequest, container_id: FromPath[str]
    ) -> NextInputAnswer:
        # Once per call: the principal comes from the request, not a second dependency (see CallerRequest).
        return await execution.next_input(request.user, container_id, data)

    @websocket(
        "/containers/{container_id:str}/inputs",
        name="input_channel",
        description="WebSocket: send NextInput, receive NextInputAnswer; the long-poll route's protocol.",
    )
    async def input_channel(
        self, socket: WebSocket[Principal, Any, State], execution: Execution, container_id: FromPath[str]
    ) -> None:
        settings: Settings = socket.app.state.settings
        await socket.accept()
        await serve_inputs(socket, execution, container_id, settings.agent_max_body_bytes)

    @post(
        "/outcomes",
        operation_id="report_outcomes",
        status_code=200,
        summary="Report outcomes outside a container slot (crashes, timeouts, cancellations)",
        description="Answers which outcomes were recorded; 409 when none was: a late report, whose attempts no "
        "longer hold their leases or whose calls already ended (the detail names each call and why).",
        responses=problem_responses(400, 401, 403, 409, 413, 422),
    )
    async def report_outcomes(
        self, data: JSONBody[OutcomeBatch], execution: Execution, principal: Caller
    ) -> OutcomeResults:
        return OutcomeResults(accepted=await execution.record_outcomes(principal, data.outcomes))

    @post(
        "/calls/{call_id:str}/logs",
        operation_id="ship_logs",
        status_code=200,
        summary="Ship log lines of a running attempt",
        responses=problem_responses(400, 401, 403, 413, 422),
    )
    async def ship_logs(
        self, data: JSONBody[LogShipment], execution: Execution, principal: Caller, call_id: FromPath[str]
    ) -> LogShipmentResult:
        return LogShipmentResult(accepted=await execution.ship_logs(principal, call_id, data))

    @post(
        "/builds",
        operation_id="report_build",
        status_code=204,
        summary="Report an environment build and its log",
        responses=problem_responses(400, 401, 403, 404, 413, 422),
    )
    async def report_build(self, data: JSONBody[BuildReport], execution: Execution, principal: Caller) -> None:
        await execution.record_build(principal, data)

    @post(
        "/builds/{build_id:str}",
        operation_id="report_build_progress",
        status_code=200,
        summary="Report that a requested environment build started or ended",
        description="A build the node was asked for (`NodeWork.builds`) moves to `building`, then to "
        "`succeeded` or `failed` with its log. `accepted` is false when the build moved on already.",
        responses=problem_responses(400, 401, 403, 404, 413, 422),
    )
    async def report_build_progress(
        self, data: JSONBody[BuildProgress], execution: Execution, principal: Caller, build_id: FromPath[str]
    ) -> BuildProgressResult:
        return BuildProgressResult(accepted=await execution.report_build_progress(principal, build_id, data))

    @get(
        "/bundles/{digest:str}",
        operation_id="get_bundle",
        summary="Download a deployed bundle",
        media_type="application/octet-stream",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_bundle(self, state: State, execution: Execution, principal: Caller, digest: FromPath[str]) -> Stream:
        if not await execution.bundle_visible(principal, digest):
            raise NotFound(f"bundle {digest[:64]!r} not found")
        blob: BlobStream = await state.blobs.open(digest)

        async def chunks() -> AsyncIterator[bytes]:
            async with blob:
                async for chunk in blob:
                    yield chunk

        return Stream(chunks(), media_type="application/octet-stream", headers={"Content-Length": str(blob.size)})


async def serve_inputs(
    socket: WebSocket[Principal, Any, State], execution: ExecutionService, container_id: str, limit: int
) -> None:
    """Answer a slot's asks until it hangs up or is refused."""
    decoder = msgspec.json.Decoder(NextInput)
    while True:
        try:
            message = await socket.receive_data(mode="binary")
        except WebSocketDisconnect:
            return
        raw = message if isinstance(message, bytes) else message.encode()
        if len(raw) > limit:
            await socket.close(4413, f"the message is {len(raw)} bytes; the limit is {limit} bytes"[:120])
            return
        try:
            ask = decoder.decode(raw)
        except msgspec.DecodeError as exc:  # ValidationError is one
            await socket.close(4422, str(exc)[:120])
            return
        try:
            answer = await execution.next_input(socket.user, container_id, ask)
        except SkiffError as exc:
            await socket.close(4000 + exc.status, exc.detail[:120])
            return
        except UNAVAILABLE as exc:
            log.warning("backing service unavailable", extra={"error": type(exc).__name__, "path": socket.url.path})
            await socket.close(1013, "a backing service is unavailable; retry shortly")
            return
        except Exception:
            log.exception("input channel failed", extra={"container": container_id})
            await socket.close(1011, "internal error; the agent may try again")
            return
        await socket.send_data(msgspec.json.encode(answer), mode="binary")
