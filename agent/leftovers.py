"""Which containers this agent runs, marked in its state directory, so that the next agent with the
same state cleans up after one that was killed.

A killed agent's sandboxes die with it (--die-with-parent), but their cgroups stay, named by container
ids only it knew. Each container is marked here from its start to its exit; at start an agent removes
the cgroups of the marks it finds. (Zygotes' cgroups are swept by their own prefix: zygote_pool.)
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from agent.sandbox.cgroups import ContainerCgroup, valid_name


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
