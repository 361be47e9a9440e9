"""What a killed agent's zygotes and containers left, removed by the next agent with its state."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

from agent.leftovers import ContainerMarks, remove_leftovers, zygote_prefix
from agent.sandbox.cgroups import ContainerCgroup, cgroup_dirs
from agent.sandbox.interface import Limits


def test_an_earlier_agents_zygotes_and_marked_containers_have_their_cgroups_removed(tmp_path: Path) -> None:
    state = tmp_path / f"agent-{uuid.uuid4().hex[:8]}"  # its zygotes' prefix is only this test's
    container_id, zygote_id = f"test-{uuid.uuid4().hex[:12]}", f"{zygote_prefix(state)}old"
    marks = ContainerMarks(state / "containers")
    ContainerCgroup.create(container_id, Limits())  # as a killed agent's container left it
    marks.add(container_id)
    marks.add("../elsewhere")  # no cgroup may have such a name: never marked
    assert [mark.name for mark in (state / "containers").iterdir()] == [container_id]
    zygote = ContainerCgroup.create(zygote_id, Limits())
    sleeper = subprocess.Popen(["sleep", "3600"])  # a process that outlived its agent, somehow
    zygote.add(sleeper.pid)
    other = ContainerCgroup.create(f"{zygote_prefix(tmp_path / 'another')}z", Limits())  # another agent's

    try:
        assert remove_leftovers(state) == [zygote_id, container_id]
        assert sleeper.wait(10) == -signal.SIGKILL
        assert [d for d in cgroup_dirs(container_id) + cgroup_dirs(zygote_id) if d.exists()] == []
        assert list((state / "containers").iterdir()) == []
        assert all(d.is_dir() for d in other.dirs)
        assert remove_leftovers(state) == []
    finally:
        sleeper.kill()
        for directory in other.dirs:
            directory.rmdir()


def test_a_container_that_exits_is_unmarked(tmp_path: Path) -> None:
    marks = ContainerMarks(tmp_path / "containers")
    marks.add("ctr_a")
    marks.remove("ctr_a")
    marks.remove("ctr_a")  # twice: no error
    assert marks.remove_leftovers() == []
