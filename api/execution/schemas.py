"""What agents and the API exchange: container commands, inputs, outcomes, reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import msgspec

from api.builds.schemas import BuildCommand
from api.calls.schemas import CallError, PayloadType
from api.nodes.schemas import GpuUsage

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class ContainerState(StrEnum):
    PENDING = "pending"
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    EXITED = "exited"


class ContainerSpec(msgspec.Struct, kw_only=True):
    """Start this container: the function version, where its code is, and its limits."""

    container_id: str
    function_id: str
    app: str
    function: str
    version: int
    bundle_digest: str
    image_key: str
    # The validated manifest entry: handler, setup, image, cpu, memory, gpu, timeout, max_inputs, env, …
    spec: dict[str, Any]
    # GPUs reserved for this container on the node (the agent assigns which devices).
    gpu_model: str | None = None
    gpu_count: int = 0
    # The variables of the secrets the function declares, decrypted for this node only; or, when one
    # is missing or does not decrypt, why: the agent fails the start with it.
    secrets: dict[str, str] = msgspec.field(default_factory=dict)
    secret_error: str | None = None


GpuIndex = Annotated[int, msgspec.Meta(ge=0, le=64)]


class ContainerReport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    container_id: Id
    state: ContainerState
    exit_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    # The node's GPUs (their indices) the agent gave it; left out while it holds none.
    gpus: Annotated[list[GpuIndex], msgspec.Meta(max_length=64)] | None = None


class NodePoll(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An agent's report (it also renews the node's heartbeat and its calls' leases), and how long to wait."""

    epoch: Annotated[int, msgspec.Meta(ge=1)]
    containers: Annotated[list[ContainerReport], msgspec.Meta(max_length=10_000)] = msgspec.field(default_factory=list)
    running_calls: Annotated[list[Id], msgspec.Meta(max_length=100_000)] = msgspec.field(default_factory=list)
    wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=30)] = 0
    # The agent is shutting down: stop its containers and place nothing new on the node.
    draining: bool = False
    # GPU load, sent every few polls; absent means unchanged.
    gpu_usage: Annotated[list[GpuUsage], msgspec.Meta(max_length=64)] | None = None
    # Environments built here and functions with a warm zygote here; absent means unchanged.
    cached_images: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=10_000)] | None
    ) = None
    warm_functions: Annotated[list[Id], msgspec.Meta(max_length=10_000)] | None = None
    # False for a short poll: it asks only for start and stop commands and abandoned calls, in one
    # statement, and leaves the heartbeat, the reports, the leases and build claims to the next full
    # poll. An agent sends one right after commands came, while its last full poll is recent and it
    # has no exit to report, so that the containers it starts do not share the CPU with a full one.
    full: bool = True


class NodeWork(msgspec.Struct, kw_only=True):
    start: list[ContainerSpec]
    stop: list[str]
    # Calls this node runs that ended elsewhere (cancelled, lease lost): kill them.
    abandon: list[str]
    lease_seconds: float
    # Environments to build ahead of their functions' first calls, each handed out once.
    builds: list[BuildCommand] = msgspec.field(default_factory=list)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the user's code raised
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"  # the container died under it: OOM, signal, exit


class LogRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    stream: Annotated[str, msgspec.Meta(pattern=r"^(stdout|stderr|system)$")]
    line: Annotated[str, msgspec.Meta(max_length=16_384)]


class CallOutcome(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    call_id: Id
    lease_token: Id
    outcome: Outcome
    # JSON text of the result, opaque to the API beyond its size.
    result: str | None = None
    # A result that is not JSON: its bytes in base64, stored as they are and never decoded by the API,
    # and how they are written (given together).
    result_b64: bytes | None = None
    result_type: PayloadType | None = None
    error: CallError | None = None
    logs: Annotated[list[LogRecord], msgspec.Meta(max_length=10_000)] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if (self.result_b64 is None) != (self.result_type is None):
            raise ValueError("`result_b64` and `result_type` go together")


class LogShipment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Lines a running attempt printed, shipped while it runs so that followers see them live."""

    lease_token: Id
    lines: Annotated[list[LogRecord], msgspec.Meta(max_length=1000)]


class LogShipmentResult(msgspec.Struct, kw_only=True):
    accepted: bool


class BuildReport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A node built (or failed to build) a function's environment."""

    node_id: Id
    function_id: Id
    image_key: Annotated[str, msgspec.Meta(max_length=64)]
    succeeded: bool
    seconds: Annotated[float, msgspec.Meta(ge=0)]
    log: Annotated[str, msgspec.Meta(max_length=1 << 20)]


MAX_TAKE = 64


class NextInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A container slot asks for its next input, reporting the previous one's outcome.

    A slot of a quick function may `take` several inputs at once: it runs them one after another
    and reports their outcomes together (`outcome`, then `outcomes`) when it asks again."""

    outcome: CallOutcome | None = None
    outcomes: Annotated[list[CallOutcome], msgspec.Meta(max_length=MAX_TAKE)] = msgspec.field(default_factory=list)
    wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=30)] = 0
    # On a container's first ask, its start; with an outcome, the start of a new process that the
    # first outcome's input waited for (it woke an asleep container).
    cold_start_ms: Annotated[float, msgspec.Meta(ge=0)] | None = None
    take: Annotated[int, msgspec.Meta(ge=1, le=MAX_TAKE)] = 1


class Input(msgspec.Struct, kw_only=True):
    call_id: str
    lease_token: str
    attempt: int
    timeout_seconds: int
    input_type: PayloadType
    # The arguments: JSON text for application/json (empty for other types) ...
    payload: str
    # ... and for any other type, their bytes in base64, for the sandbox alone to decode.
    payload_b64: bytes | None = None


class NextInputAnswer(msgspec.Struct, kw_only=True):
    input: Input | None
    # The container should finish what it runs and exit.
    stop: bool
    # Whether the first reported outcome was recorded (a late or stale one is not).
    outcome_accepted: bool | None = None
    # Inputs after `input`, claimed for this slot too, when it asked to take more than one.
    more: list[Input] = msgspec.field(default_factory=list)
    # The container is asleep (scaled down, still placed): its process should exit, and its slots go on
    # asking; the next input they get starts a new one.
    sleep: bool = False


class OutcomeBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcomes: Annotated[list[CallOutcome], msgspec.Meta(max_length=1000)]


class OutcomeResults(msgspec.Struct, kw_only=True):
    # Per outcome, in order: whether it was recorded (false: the lease was no longer held). A batch of
    # which none was recorded answers 409 instead.
    accepted: list[bool]
