"""What a killed agent leaves behind, found from its state directory, so that the next agent with the
same state cleans up after it.

A killed agent's sandboxes die with it (--die-with-parent), but their cgroups stay, named by ids only
it knew. Each container is marked in the state directory from its start to its exit; zygotes' cgroups
carry a prefix named after the state directory (zygotes have ids the API never hears of). At start an
agent removes the cgroups of the marks it finds and those with its zygotes' prefix.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from agent.sandbox.cgroups import ContainerCgroup, leftover_ids, valid_name


def owner_of(state: Path) -> str:
    """A short name for the agent with this state directory: its zygotes' cgroups and its sandbox users
    carry it, so that its leftover sweep spares other agents on the host."""
    return hashlib.sha256(str(state).encode()).hexdigest()[:10]


def zygote_prefix(state: Path) -> str:
    return f"zygote-{owner_of(state)}-"


def remove_leftovers(state: Path) -> list[str]:
    """Kill and remove what the zygotes and containers of an earlier agent with this state left (it was
    killed); call once, before any start. Returns their ids."""
    zygotes = leftover_ids(zygote_prefix(state))
    for zygote_id in zygotes:
        ContainerCgroup.remove_leftover(zygote_id)
    return zygotes + ContainerMarks(state / "containers").remove_leftovers()


class ContainerMarks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def add(self, container_id: str) -> None:
        if valid_name(container_id):
            (self.directory / container_id).touch()

    def remove(self, container_id: str) -> None:
        if valid_name(container_id):
            (self.directory / container_id).unlink(missing_ok=True)

    def remove_leftovers(self) -> list[str]:
        """Kill and remove what the containers of an earlier agent left; call once, before any start."""
        left = sorted(mark.name for mark in self.directory.iterdir() if valid_name(mark.name))
        for container_id in left:
            with contextlib.suppress(OSError):  # not ours to keep: the next start tries again
                ContainerCgroup.remove_leftover(container_id)
                self.remove(container_id)
        return left
