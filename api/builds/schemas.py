"""What clients see of environment builds, and what agents and the API exchange about them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.builds.states import BuildState
from api.deployments.image import ImageSpec

MAX_BUILD_LOG_CHARS = 64 * 1024  # kept per build: pip's output, the tail when longer


class BuildOut(msgspec.Struct, kw_only=True):
    """One node's build of one function's environment (pip's output, the tail when long)."""

    id: str
    function: str
    state: BuildState
    # The node asked to build it (its id and name); null while no ready node could run the function.
    node_id: str | None
    node: str | None
    image_key: str
    # Whether the environment is ready on that node.
    succeeded: bool
    # Asked for at deploy time, ahead of the first call (false: a container's start built it).
    requested: bool
    # Build time: so far while building, in all once ended.
    seconds: float
    log: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BuildList(msgspec.Struct, kw_only=True):
    items: list[BuildOut]
    # The scheduler has decided which of this version's environments to build ahead of the first call;
    # until then more items may come.
    planned: bool


class BuildCommand(msgspec.Struct, kw_only=True):
    """Build this function's environment (and fetch its bundle) now, without starting a container."""

    build_id: str
    function_id: str
    image_key: str
    image: ImageSpec
    bundle_digest: str


class BuildProgress(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A node started a requested build, or ended it (with its log and how long it took)."""

    node_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    state: Literal["building", "succeeded", "failed"]
    seconds: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    log: Annotated[str, msgspec.Meta(max_length=1 << 20)] = ""


class BuildProgressResult(msgspec.Struct, kw_only=True):
    # False when the build had moved on already (ended, or placed on another node): nothing changed.
    accepted: bool
