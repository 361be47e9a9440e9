"""Bodies of the apps, deployments and functions API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

APP_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
AppName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=APP_NAME_PATTERN)]


class Autoscaling(msgspec.Struct, kw_only=True):
    """The settings a function version scales by: its manifest's, with the runtime overrides."""

    min_containers: int
    max_containers: int
    buffer_containers: int
    scaledown_window: int


class FunctionOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    app: str
    version: int
    image_key: str
    # The validated manifest entry: handler, image, resources, scaling and retry policy.
    spec: dict[str, Any]
    calls_url: str
    # In effect for this version: a version that is not the current one drains (min and buffer 0).
    autoscaling: Autoscaling
    # Settings changed at runtime (PATCH); they outlive redeploys that leave the setting alone.
    overrides: dict[str, int] = msgspec.field(default_factory=dict)
    waiting: Annotated[
        str | None,
        msgspec.Meta(
            description="Why the function's calls wait: no node can take the container they need now (no ready "
            "node has the GPUs, memory or CPUs it asks for, or those that have are full), or the function has all "
            "the containers its max_containers allows and its calls need more; null when none waits so."
        ),
    ] = None


class AutoscalingPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Change autoscaling at runtime. A setting left out stays as it is; null returns it to the manifest's."""

    min_containers: int | msgspec.UnsetType | None = msgspec.UNSET
    max_containers: int | msgspec.UnsetType | None = msgspec.UNSET
    buffer_containers: int | msgspec.UnsetType | None = msgspec.UNSET
    scaledown_window: int | msgspec.UnsetType | None = msgspec.UNSET

    def changes(self) -> dict[str, int | None]:
        fields = ("min_containers", "max_containers", "buffer_containers", "scaledown_window")
        return {key: value for key in fields if (value := getattr(self, key)) is not msgspec.UNSET}


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


class Rollback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Annotated[int, msgspec.Meta(ge=1)]
