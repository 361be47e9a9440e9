"""The cgroups a killed agent's containers left, removed by the next agent with its state."""

from __future__ import annotations

import uuid
from pathlib import Path

from agent.leftovers import ContainerMarks
from agent.sandbox.cgroups import ContainerCgroup, cgroup_dirs
from agent.sandbox.interface import Limits


def test_an_earlier_agents_marked_containers_have_their_cgroups_removed(tmp_path: Path) -> None:
    container_id = f"test-{uuid.uuid4().hex[:12]}"
    marks = ContainerMarks(tmp_path / "containers")
    ContainerCgroup.create(container_id, Limits())  # as a killed agent's container left it
    marks.add(container_id)
    marks.add("../elsewhere")  # no cgroup may have such a name: never marked
    assert [mark.name for mark in (tmp_path / "containers").iterdir()] == [container_id]

    assert ContainerMarks(tmp_path / "containers").remove_leftovers() == [container_id]
    assert [d for d in cgroup_dirs(container_id) if d.exists()] == []
    assert list((tmp_path / "containers").iterdir()) == []


def test_a_container_that_exits_is_unmarked(tmp_path: Path) -> None:
    marks = ContainerMarks(tmp_path / "containers")
    marks.add("ctr_a")
    marks.remove("ctr_a")
    marks.remove("ctr_a")  # twice: no error
    assert marks.remove_leftovers() == []
