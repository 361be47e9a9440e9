"""The kernel's `favordynmods` is on where the agent runs, so that a cold start's cgroup move does not
wait for an RCU grace period (agent.sandbox.cgroups.favor_dynamic_moves; timings in bench/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

from agent.sandbox.cgroups import favor_dynamic_moves


def favordynmods_mounts() -> list[str]:
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, target, fstype, options, *_ = line.split()
        if fstype in ("cgroup", "cgroup2") and "favordynmods" in options.split(","):
            found.append(target)
    return found


def test_the_agent_turns_favordynmods_on_once_and_leaves_it_on() -> None:
    said = favor_dynamic_moves()
    assert said.startswith(("turned on", "already on")), said
    mounts = favordynmods_mounts()
    assert mounts, "no cgroup mount carries favordynmods"
    again = favor_dynamic_moves()
    assert again.startswith("already on") and mounts[0] in again, again
    assert favordynmods_mounts() == mounts  # nothing mounted twice
