"""What a node may leave behind once its containers are gone: sandbox processes, cgroups and files.

Found by pid, by path and by id, never by process name: other agents (other tests, other checkouts)
share this machine and its cgroup hierarchies, so only what one agent made is counted as its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.sandbox.cgroups import CGROUP_ROOT, GROUP_NAME, V1_CONTROLLERS


def container_cgroup_parents(agent_pid: int) -> list[Path]:
    """Where the agent `agent_pid` makes its containers' cgroups (agent/sandbox/cgroups.py): `skiff/`
    inside its own cgroup, one per controller on v1, one directory on v2. Read while the agent runs."""
    own: dict[str, str] = {}
    for line in Path(f"/proc/{agent_pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        own[names] = path
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        # a v2 agent moves itself into a leaf `agent` of the cgroup it was started in
        return [CGROUP_ROOT / own[""].removesuffix("/agent").lstrip("/") / GROUP_NAME]
    parents = []
    for controller in V1_CONTROLLERS:
        path = next((p for names, p in own.items() if controller in names.split(",")), "/")
        parents.append(CGROUP_ROOT / controller / path.lstrip("/") / GROUP_NAME)
    return parents


def zygote_cgroup_prefix(agent_state_dir: Path) -> str:
    """The prefix of the zygote cgroups of the agent with this state directory (as agent/daemon.py names
    them): zygotes have ids the API never hears of, so only their prefix tells whose they are."""
    return f"zygote-{hashlib.sha256(str(agent_state_dir.resolve()).encode()).hexdigest()[:10]}-"


def cgroups_named(parents: list[Path], container_ids: set[str], zygote_prefix: str) -> list[Path]:
    """The cgroups under `parents` of these containers and of the zygotes with this prefix."""
    found = []
    for parent in parents:
        if not parent.is_dir():  # on v1 the agent removes `skiff/` with its last container
            continue
        for entry in parent.iterdir():
            if entry.is_dir() and (entry.name in container_ids or entry.name.startswith(zygote_prefix)):
                found.append(entry)
    return sorted(found)


def entries(root: Path, depth: int) -> set[str]:
    """Paths under `root`, relative to it, down to `depth` levels: what a directory holds, coarsely."""
    found: set[str] = set()
    level = [root]
    for _ in range(depth):
        level = [child for directory in level if directory.is_dir() for child in directory.iterdir()]
        found |= {str(path.relative_to(root)) for path in level}
    return found


def paths_naming(root: Path, names: set[str]) -> list[Path]:
    """Every path under `root` one of whose components contains one of `names`."""
    return sorted(path for path in root.rglob("*") if any(name in path.name for name in names))
