"""Request and response bodies of the calls API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from api.calls.states import CallStatus


class PayloadType(StrEnum):
    """How arguments or a result are written: JSON, or pickled bytes that only a sandbox and the caller decode."""

    JSON = "application/json"
    PICKLE = "application/vnd.skiff.pickle"  # cloudpickle.dumps((args, kwargs)), or of a result


class CallInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Arguments for the function, as JSON."""

    args: Annotated[list[Any], msgspec.Meta(max_length=10_000)] = msgspec.field(default_factory=list)
    kwargs: Annotated[dict[str, Any], msgspec.Meta(max_length=10_000)] = msgspec.field(default_factory=dict)


class PickledInput(msgspec.Struct, kw_only=True, frozen=True):
    """Arguments as the bytes of `cloudpickle.dumps((args, kwargs))`: stored and handed on, never read."""

    payload: bytes


MAX_MAP_INPUTS = 10_000
MAX_WAIT_IDS = 10_000


class MapInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Many calls of one function in one request: one call per input, in this order; `inputs` or `inputs_b64`."""

    inputs: Annotated[list[CallInput], msgspec.Meta(max_length=MAX_MAP_INPUTS)] = msgspec.field(default_factory=list)
    inputs_b64: Annotated[
        list[bytes],
        msgspec.Meta(
            max_length=MAX_MAP_INPUTS,
            description=f"Each input as base64 of `{PayloadType.PICKLE.value}` bytes: cloudpickle.dumps((args, "
            "kwargs)). Decoded only inside the function's sandbox.",
        ),
    ] = msgspec.field(default_factory=list)


class MapOut(msgspec.Struct, kw_only=True):
    """The batch's id and its calls' ids, in the order of the inputs."""

    id: str
    calls: list[str]


class WaitForCalls(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Calls to wait for: the answer lists those that have ended once one has, or after `wait` seconds."""

    ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_WAIT_IDS)]
    wait: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0


class EndedCalls(msgspec.Struct, kw_only=True):
    """Those of the calls asked about that have ended (unknown ids are left out)."""

    items: list[CallOut]


class CallError(msgspec.Struct, kw_only=True):
    """Why a call did not succeed: the user's exception (user frames only), a timeout, a crash, …"""

    type: str
    message: str
    traceback: str | None = None


class CallOut(msgspec.Struct, kw_only=True):
    id: str
    status: CallStatus
    app: str
    function: str
    version: int
    attempt: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cold_start: bool | None
    cold_start_ms: float | None
    node_id: str | None
    container_id: str | None
    result: Annotated[Any, msgspec.Meta(description="The result, when it is JSON.")] = None
    result_type: Annotated[
        PayloadType | None, msgspec.Meta(description="How the result is written, once the call succeeded.")
    ] = None
    result_b64: Annotated[
        bytes | None,
        msgspec.Meta(
            description="A result that is not JSON: its bytes (of `result_type`) in base64, for the calling "
            "Python process to decode. The API never does."
        ),
    ] = None
    error: CallError | None = None
    waiting: Annotated[
        str | None,
        msgspec.Meta(
            description="For a queued call, why its function's calls wait (as the function's `waiting` says: no "
            "node can take a container for it, or it is at its max_containers); null otherwise, and in listings."
        ),
    ] = None


class CallPage(msgspec.Struct, kw_only=True):
    items: list[CallOut]
    next_cursor: str | None


class LogLine(msgspec.Struct, kw_only=True):
    seq: int
    attempt: int
    stream: str
    line: str
    created_at: datetime


class LogPage(msgspec.Struct, kw_only=True):
    items: list[LogLine]
    next_after: int | None
