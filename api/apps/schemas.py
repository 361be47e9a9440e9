"""Bodies of the apps, deployments and functions API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

APP_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
AppName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=APP_NAME_PATTERN)]


class FunctionOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    app: str
    version: int
    image_key: str
    # The validated manifest entry: handler, image, resources, scaling and retry policy.
    spec: dict[str, Any]
    calls_url: str


class DeploymentOut(msgspec.Struct, kw_only=True):
    id: str
    app: str
    version: int
    current: bool
    bundle_digest: str
    bundle_size: int
    created_at: datetime
    functions: list[FunctionOut]
    warnings: list[str] = msgspec.field(default_factory=list)


class AppOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    current_version: int | None
    latest_version: int
    created_at: datetime


class AppPage(msgspec.Struct, kw_only=True):
    items: list[AppOut]
    next_cursor: str | None


class DeploymentPage(msgspec.Struct, kw_only=True):
    items: list[DeploymentOut]
    next_cursor: str | None


class FunctionList(msgspec.Struct, kw_only=True):
    items: list[FunctionOut]


class BuildOut(msgspec.Struct, kw_only=True):
    """A node's build of one function's environment (pip's output, the tail when long)."""

    id: str
    function: str
    node_id: str
    image_key: str
    succeeded: bool
    seconds: float
    log: str
    created_at: datetime


class BuildList(msgspec.Struct, kw_only=True):
    items: list[BuildOut]


class Rollback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Annotated[int, msgspec.Meta(ge=1)]
