"""The agent's calls to the control plane, through the generated client, with one error policy:
a 401/403/404 is fatal for the caller, anything else (network, 5xx) is worth retrying. A late outcome
report (409: its attempts were superseded) is an answer, not an error: none was recorded."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

import httpx

from skiff_client import AuthenticatedClient
from skiff_client.api.agent import (
    next_input,
    poll_node,
    report_build,
    report_build_progress,
    report_outcomes,
    ship_logs,
)
from skiff_client.models import (
    BuildProgress,
    BuildProgressResult,
    BuildProgressState,
    BuildReport,
    CallOutcome,
    ContainerReport,
    GpuUsage,
    LogRecord,
    LogShipment,
    LogShipmentResult,
    NextInput,
    NextInputAnswer,
    NodePoll,
    NodeWork,
    OutcomeBatch,
    OutcomeResults,
    Problem,
)
from skiff_client.types import Response

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger("skiff.agent")


class Refused(Exception):
    """The API refused the request for good (bad token, unknown node or container, stale epoch)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


class Unreachable(Exception):
    """The API could not be reached or failed; try again later."""


def _parsed(response: Response[Any], kind: type[T]) -> T:
    """The body as `kind`, or the right exception for the status."""
    if isinstance(response.parsed, kind):
        return response.parsed
    detail = response.parsed.detail if isinstance(response.parsed, Problem) else response.content[:500].decode()
    if 400 <= response.status_code < 500:
        raise Refused(response.status_code, detail)
    raise Unreachable(f"HTTP {response.status_code}: {detail}")


def _transport_errors_are_unreachable(call: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(call)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await call(*args, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(repr(exc)) from exc

    return wrapper


class AgentApi:
    def __init__(self, client: AuthenticatedClient) -> None:
        self.client = client

    @property
    def base_url(self) -> str:
        return str(self.client.get_async_httpx_client().base_url)

    @property
    def token(self) -> str:
        return self.client.token

    async def __aenter__(self) -> AgentApi:
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.__aexit__(*exc)

    @_transport_errors_are_unreachable
    async def poll(
        self,
        node_id: str,
        epoch: int,
        containers: list[ContainerReport],
        running: list[str],
        wait_seconds: float,
        *,
        answer_within: float,
        draining: bool = False,
        gpu_usage: list[GpuUsage] | None = None,
        warmth: tuple[list[str], list[str]] | None = None,
        full: bool = True,
    ) -> NodeWork:
        body = NodePoll(
            epoch=epoch,
            containers=containers,
            running_calls=running,
            wait_seconds=wait_seconds,
            draining=draining,
            gpu_usage=gpu_usage,
            full=full,
        )
        if warmth is not None:
            body.cached_images, body.warm_functions = warmth
        try:  # a connection that died silently would otherwise hang until the client's own timeout
            response = await asyncio.wait_for(
                poll_node.asyncio_detailed(node_id, client=self.client, body=body), answer_within
            )
        except TimeoutError:
            raise Unreachable(f"no answer to the poll within {answer_within:g} s") from None
        return _parsed(response, NodeWork)

    @_transport_errors_are_unreachable
    async def next_input(self, container_id: str, body: NextInput) -> NextInputAnswer:
        response = await next_input.asyncio_detailed(container_id, client=self.client, body=body)
        return _parsed(response, NextInputAnswer)

    @_transport_errors_are_unreachable
    async def report_outcomes(self, outcomes: list[CallOutcome]) -> list[bool]:
        """Per outcome, whether the API recorded it."""
        response = await report_outcomes.asyncio_detailed(client=self.client, body=OutcomeBatch(outcomes=outcomes))
        if response.status_code == HTTPStatus.CONFLICT and isinstance(response.parsed, Problem):
            log.info("late outcomes refused", extra={"detail": response.parsed.detail})
            return [False] * len(outcomes)
        return list(_parsed(response, OutcomeResults).accepted)

    @_transport_errors_are_unreachable
    async def report_build(self, report: BuildReport) -> None:
        response = await report_build.asyncio_detailed(client=self.client, body=report)
        if response.status_code != 204:
            _parsed(response, type(None))

    @_transport_errors_are_unreachable
    async def report_build_progress(
        self, build_id: str, node_id: str, state: BuildProgressState, *, seconds: float = 0.0, build_log: str = ""
    ) -> bool:
        """Whether the API took it (false: the build had moved on, e.g. placed on another node)."""
        body = BuildProgress(node_id=node_id, state=state, seconds=seconds, log=build_log)
        response = await report_build_progress.asyncio_detailed(build_id, client=self.client, body=body)
        return _parsed(response, BuildProgressResult).accepted

    @_transport_errors_are_unreachable
    async def ship_logs(self, call_id: str, lease_token: str, lines: list[LogRecord]) -> bool:
        body = LogShipment(lease_token=lease_token, lines=lines)
        return _parsed(
            await ship_logs.asyncio_detailed(call_id, client=self.client, body=body), LogShipmentResult
        ).accepted
