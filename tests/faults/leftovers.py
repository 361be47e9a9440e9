"""What a node may leave behind once its containers are gone: sandbox processes, cgroups and files.

Found by pid, by path and by id, never by process name: other agents (other tests, other checkouts)
share this machine and its cgroup hierarchies, so only what one agent made is counted as its own.
"""

from __future__ import annotations

from pathlib import Path


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
