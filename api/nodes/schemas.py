"""Bodies of the node and agent routes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
LabelKey = Annotated[str, msgspec.Meta(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9._/-]*$")]
LabelValue = Annotated[str, msgspec.Meta(max_length=63)]


class NodeState(StrEnum):
    READY = "ready"
    DRAINING = "draining"
    DOWN = "down"


class Gpu(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One GPU as NVML reports it, with a normalised model name (`H100`, `A100-80GB`, `L4`)."""

    index: Annotated[int, msgspec.Meta(ge=0, le=64)]
    uuid: Annotated[str, msgspec.Meta(max_length=80)]
    model: Annotated[str, msgspec.Meta(max_length=40)]
    memory_mib: Annotated[int, msgspec.Meta(ge=0)]


class GpuUsage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One GPU's load as NVML last reported it."""

    index: Annotated[int, msgspec.Meta(ge=0, le=64)]
    utilization_percent: Annotated[int, msgspec.Meta(ge=0, le=100)]
    memory_used_mib: Annotated[int, msgspec.Meta(ge=0)]


class NodeRegistration(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: ShortText
    hostname: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    agent_version: Annotated[str, msgspec.Meta(max_length=32)]
    cpus: Annotated[float, msgspec.Meta(gt=0, le=4096)]
    memory_mib: Annotated[int, msgspec.Meta(gt=0, le=1 << 24)]
    gpus: Annotated[list[Gpu], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=list)
    labels: Annotated[dict[LabelKey, LabelValue], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=dict)


class NodeOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    hostname: str
    agent_version: str
    state: NodeState
    cpus: float
    memory_mib: int
    gpus: list[Gpu]
    gpu_usage: list[GpuUsage]
    # Environments built there and functions with a warm zygote there.
    cached_images: list[str]
    warm_functions: list[str]
    labels: dict[str, str]
    epoch: int
    registered_at: datetime
    last_heartbeat_at: datetime
    containers: Annotated[
        int | None, msgspec.Meta(description="Its containers not exited; null in an agent's own answers.")
    ] = None
    gpus_held: Annotated[
        list[int] | None,
        msgspec.Meta(description="Which of its GPUs (their indices) its containers hold; null as `containers`."),
    ] = None


class AgentConfig(msgspec.Struct, kw_only=True):
    """What the API tells an agent when it registers."""

    node: NodeOut
    heartbeat_interval_seconds: float
    heartbeat_timeout_seconds: float


class Heartbeat(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    epoch: Annotated[int, msgspec.Meta(ge=1)]


class NodePage(msgspec.Struct, kw_only=True):
    items: list[NodeOut]
    next_cursor: str | None
