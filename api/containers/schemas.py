"""Bodies of the container routes: what a workspace sees of the containers that run its functions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.execution.schemas import ContainerState
from api.nodes.schemas import GpuUsage


class ContainerOut(msgspec.Struct, kw_only=True):
    """One sandboxed process tree (or an asleep container's place on its node) serving one version of
    one function on one node."""

    id: str
    app: str
    function: str
    version: int
    function_id: str
    node_id: str
    node: Annotated[str, msgspec.Meta(description="Its node's name.")]
    state: ContainerState
    asleep: Annotated[
        bool,
        msgspec.Meta(
            description="Scaled down with its process gone, but still placed: its node keeps the function's "
            "zygote warm, and the next call forks a process there."
        ),
    ]
    running_calls: Annotated[int, msgspec.Meta(description="How many of the workspace's calls it is running now.")]
    gpu_model: Annotated[str | None, msgspec.Meta(description="The GPUs reserved for it on its node: model.")]
    gpu_count: int
    gpus: Annotated[
        list[int],
        msgspec.Meta(description="Which of its node's GPUs (their indices) it holds, once its agent has said so."),
    ]
    gpu_usage: Annotated[
        list[GpuUsage],
        msgspec.Meta(description="The load of those GPUs as its node last reported it; empty once it has exited."),
    ]
    created_at: datetime
    started_at: datetime | None
    ready_at: datetime | None
    idle_since: datetime | None
    exited_at: datetime | None
    exit_reason: Annotated[
        str | None,
        msgspec.Meta(
            description="Why it was told to stop (scaled down, stopped by request, …), if it was, then how it "
            "ended: `scaled down; exited cleanly`, `out of memory (limit 512 MiB)`; null while it runs."
        ),
    ]
    cold_start_ms: Annotated[
        float | None, msgspec.Meta(description="From its start command to ready, as its agent measured it.")
    ]


class ContainerPage(msgspec.Struct, kw_only=True):
    items: list[ContainerOut]
    next_cursor: str | None
