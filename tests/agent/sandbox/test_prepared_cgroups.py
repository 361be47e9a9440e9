"""Cgroups made ahead of a container's next process (an asleep container's, for its wake)."""

from __future__ import annotations

import uuid

from agent.sandbox.cgroups import ContainerCgroup, cgroup_dirs
from agent.sandbox.interface import Limits, MiB


def memory_limit(group: ContainerCgroup) -> int:
    name = "memory.max" if group.version == 2 else "memory.limit_in_bytes"
    return int((group.dirs[0] / name).read_text())


async def test_the_next_start_of_a_container_takes_its_prepared_cgroup() -> None:
    container_id = f"test-{uuid.uuid4().hex[:12]}"
    limits = Limits(memory_bytes=256 * MiB)
    prepared = ContainerCgroup.prepare(container_id, limits)
    try:
        assert all(d.is_dir() for d in cgroup_dirs(container_id)) and prepared.pids() == []
        taken = ContainerCgroup.create(container_id, limits)
        assert taken is prepared and memory_limit(taken) == 256 * MiB
        assert ContainerCgroup.create(container_id, limits) is not taken  # taken once
    finally:
        await prepared.destroy()


async def test_a_prepared_cgroup_with_other_limits_is_made_anew() -> None:
    container_id = f"test-{uuid.uuid4().hex[:12]}"
    prepared = ContainerCgroup.prepare(container_id, Limits(memory_bytes=256 * MiB))
    made = ContainerCgroup.create(container_id, Limits(memory_bytes=512 * MiB))
    try:
        assert made is not prepared and memory_limit(made) == 512 * MiB
    finally:
        await made.destroy()


async def test_a_prepared_cgroup_no_start_takes_is_discarded() -> None:
    container_id = f"test-{uuid.uuid4().hex[:12]}"
    ContainerCgroup.prepare(container_id, Limits())
    await ContainerCgroup.discard_prepared(container_id)
    assert [d for d in cgroup_dirs(container_id) if d.exists()] == []
    await ContainerCgroup.discard_prepared(container_id)  # nothing left to discard: no error
