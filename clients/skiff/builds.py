"""A version's environment builds, and waiting for them to end.

A deploy asks one node to build each new environment (a function's pip requirements) ahead of the
function's first call, so that a bad requirement shows at deploy time and no call pays the build.
A function whose environment a ready node holds already gets no build.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skiff.connection import Connection, default_connection
from skiff.exceptions import BuildTimeout
from skiff_client.api.apps import list_builds
from skiff_client.models.build_list import BuildList
from skiff_client.models.build_out import BuildOut

POLL_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 15 * 60
OPEN_STATES = ("pending", "building")


@dataclass(frozen=True)
class Build:
    """One function's environment build: `pending`, `building`, `succeeded` or `failed`."""

    function: str
    state: str
    node: str | None  # the node's name; None while no ready node could run the function
    seconds: float  # so far while building
    log: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the API's answer, for `--json`

    @classmethod
    def from_api(cls, answer: BuildOut) -> Build:
        return cls(
            function=answer.function,
            state=answer.state.value,
            node=answer.node,
            seconds=answer.seconds,
            log=answer.log,
            raw=answer.to_dict(),
        )

    @property
    def ended(self) -> bool:
        return self.state not in OPEN_STATES

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.rstrip("\n").splitlines()[-lines:])


@dataclass(frozen=True)
class Builds:
    """The builds a version asked for at deploy time, one per function that needed one."""

    planned: bool  # false until the platform has decided which environments to build
    items: list[Build]

    @classmethod
    def from_api(cls, answer: BuildList) -> Builds:
        requested = [Build.from_api(b) for b in answer.items if b.requested]
        return cls(planned=answer.planned, items=requested)

    @property
    def ended(self) -> bool:
        return self.planned and all(b.ended for b in self.items)

    @property
    def failed(self) -> list[Build]:
        return [b for b in self.items if b.state == "failed"]

    @property
    def still_open(self) -> list[Build]:
        return [b for b in self.items if not b.ended]


def builds(app_name: str, version: int, *, connection: Connection | None = None) -> Builds:
    """The environment builds the version asked for, as they stand."""
    conn = connection or default_connection()
    answer = conn.send(lambda c: list_builds.sync_detailed(app_name, version, client=c), idempotent=True)
    return Builds.from_api(answer)


def wait_for_builds(
    app_name: str,
    version: int,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_change: Callable[[Builds], None] | None = None,
    connection: Connection | None = None,
) -> Builds:
    """Wait until every build the version asked for has ended (succeeded or failed), calling
    `on_change` with each new look; raises `BuildTimeout` after `timeout` seconds."""
    conn = connection or default_connection()
    deadline = time.monotonic() + timeout
    while True:
        current = builds(app_name, version, connection=conn)
        if on_change is not None:
            on_change(current)
        if current.ended:
            return current
        if time.monotonic() >= deadline:
            waiting = ", ".join(f"{b.function} ({b.state})" for b in current.still_open) or "none planned yet"
            raise BuildTimeout(
                f"environments of {app_name} version {version} still building after {timeout:g} s "
                f"(the limit; --build-timeout in the CLI): {waiting}. The version is deployed and the builds "
                "go on; a call waits for its function's build",
                builds=current,
            )
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))
