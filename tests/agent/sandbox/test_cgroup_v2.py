"""cgroup v2 hands controllers only to the children of a cgroup that holds no processes itself: the
agent moves into a leaf of its own, and whatever shares its cgroup into another, so that containers'
cgroups get their limits wherever the agent was started, and one parent serves every container.

Run on a real cgroup2 hierarchy: on a v1 or hybrid machine (CI), a controller that no v1 hierarchy
holds is the v2 hierarchy's to hand down (hugetlb on these machines), which is all the rule needs."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.sandbox.cgroups import AGENT_LEAF, GROUP_NAME, PEERS_LEAF

AGENT = """
import json, logging, os, subprocess, sys
from pathlib import Path
from agent.sandbox.cgroups import container_parents, v2_parent

logging.basicConfig()
mount, controllers, base, peers = Path(sys.argv[1]), tuple(sys.argv[2].split(",")), Path(sys.argv[3]), int(sys.argv[4])
(base / sys.argv[5] / "cgroup.procs").write_text(str(os.getpid()))  # the cgroup it was started in
sharing = [subprocess.Popen(["sleep", "60"]) for _ in range(peers)]  # a shell, a harness: there too
try:
    first, second = v2_parent(mount, controllers), v2_parent(mount, controllers)
    where = lambda pid: Path(f"/proc/{pid}/cgroup").read_text().splitlines()[-1].split(":", 2)[2]
    print(json.dumps({
        "parents": [str(first), str(second)],
        "agent": where(os.getpid()),
        "peers": [where(p.pid) for p in sharing],
        # where tests look for what an agent left, read from its pid or a peer's
        "outside": [str(container_parents(pid, mount)[0]) for pid in [os.getpid(), *(p.pid for p in sharing)]],
    }))
finally:
    for p in sharing:
        p.kill()
        p.wait()
"""


CONTAINER = """
import asyncio, json, os, subprocess, sys, time
from pathlib import Path
from agent.sandbox.cgroups import ContainerCgroup
from agent.sandbox.interface import Limits, MiB

mount, base = Path(sys.argv[1]), Path(sys.argv[2])
(base / "cgroup.procs").write_text(str(os.getpid()))

async def main():
    group = ContainerCgroup.create("ctr_v2", Limits(memory_bytes=256 * MiB, pids=64), mount)
    limits = {f.name: f.read_text().strip() for f in group.dirs[0].iterdir() if f.name in ("memory.max", "pids.max")}
    tree = subprocess.Popen(["sh", "-c", "read go; sleep 60 & exec sleep 60"], stdin=subprocess.PIPE)
    group.add(tree.pid)
    tree.stdin.write(b"go\\n")
    tree.stdin.close()
    while len(group.pids()) < 2:  # the child it forks once in the cgroup is in it too
        await asyncio.sleep(0.01)
    held = len(group.pids())
    await group.kill_all()
    await group.destroy()
    print(json.dumps({
        "version": group.version,
        "dirs": [str(d) for d in group.dirs],
        "limits": limits,
        "held": held,
        "killed": tree.wait(),
        "left": [str(d) for d in group.dirs if d.exists()],
    }))

asyncio.run(main())
"""


def v2_mount() -> tuple[Path, str]:
    """A cgroup2 mount with a controller it may hand down; the hierarchy's root is exempt from the rule."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, target, fstype, *_ = line.split()
        controllers = (Path(target) / "cgroup.controllers").read_text().split() if fstype == "cgroup2" else []
        if controllers:
            return Path(target), ("pids" if "pids" in controllers else controllers[0])
    pytest.skip("no cgroup2 hierarchy with a controller to hand down on this machine")


@pytest.fixture
def base() -> Iterator[tuple[Path, str, Path]]:
    mount, controller = v2_mount()
    handed = (mount / "cgroup.subtree_control").read_text().split()
    if controller not in handed:  # the root hands it to its children (as a v2 host's init does)
        (mount / "cgroup.subtree_control").write_text(f"+{controller}")
    base = mount / f"skiff-test-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    yield mount, controller, base
    for directory in sorted((d for d in base.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
        directory.rmdir()  # the processes have exited: every cgroup under base is empty
    base.rmdir()
    if controller not in handed:
        (mount / "cgroup.subtree_control").write_text(f"-{controller}")


def start_agent(
    mount: Path, controllers: str, base: Path, peers: int, started_in: str = ""
) -> tuple[dict[str, object], str]:
    """What the agent's process saw, and what it logged; `started_in` is a cgroup under base."""
    argv = [sys.executable, "-c", AGENT, str(mount), controllers, str(base), str(peers), started_in]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer, done.stderr


def relative(mount: Path, path: Path) -> str:
    return "/" + str(path.relative_to(mount))


def test_an_agent_sharing_its_cgroup_moves_itself_and_the_others_into_leaves_and_hands_the_limits_down(
    base: tuple[Path, str, Path],
) -> None:
    mount, controller, cgroup = base
    seen, logged = start_agent(mount, controller, cgroup, peers=2)
    assert "moving the processes that share the agent's cgroup into a leaf" in logged
    parent = cgroup / GROUP_NAME
    assert seen["parents"] == [str(parent), str(parent)]  # one parent for every container
    assert seen["agent"] == relative(mount, cgroup / AGENT_LEAF)
    assert seen["peers"] == [relative(mount, cgroup / PEERS_LEAF)] * 2
    assert seen["outside"] == [str(parent)] * 3
    assert controller in (cgroup / "cgroup.subtree_control").read_text().split()
    assert controller in (parent / "cgroup.subtree_control").read_text().split()
    container = parent / "ctr_v2"
    container.mkdir()
    assert any(f.name.startswith(f"{controller}.") for f in container.iterdir())  # the limit files are there


def test_an_agent_started_again_from_a_moved_peer_keeps_the_parent_it_had(base: tuple[Path, str, Path]) -> None:
    mount, controller, cgroup = base
    start_agent(mount, controller, cgroup, peers=1)
    # a shell moved into the peers' leaf starts the agent again: its containers' parent is the same
    seen, logged = start_agent(mount, controller, cgroup, peers=0, started_in=PEERS_LEAF)
    assert seen["parents"] == [str(cgroup / GROUP_NAME)] * 2
    assert logged == ""
    assert sorted(d.name for d in cgroup.iterdir() if d.is_dir()) == sorted([AGENT_LEAF, GROUP_NAME, PEERS_LEAF])


def test_an_agent_alone_in_its_cgroup_moves_only_itself(base: tuple[Path, str, Path]) -> None:
    mount, controller, cgroup = base
    seen, logged = start_agent(mount, controller, cgroup, peers=0)
    assert logged == ""
    assert seen["parents"] == [str(cgroup / GROUP_NAME)] * 2
    assert seen["agent"] == relative(mount, cgroup / AGENT_LEAF)
    assert not (cgroup / PEERS_LEAF).exists()


def test_a_controller_the_agents_cgroup_was_not_given_is_named_and_the_others_still_handed_down(
    base: tuple[Path, str, Path],
) -> None:
    mount, controller, cgroup = base
    given = (mount / "cgroup.controllers").read_text().split()
    known = [line.split()[0] for line in Path("/proc/cgroups").read_text().splitlines()[1:]]
    absent = next((name for name in known if name not in given), None)
    if absent is None:
        pytest.skip("every controller this kernel has is the v2 hierarchy's here")
    seen, logged = start_agent(mount, f"{controller},{absent}", cgroup, peers=0)
    assert seen["parents"] == [str(cgroup / GROUP_NAME)] * 2
    assert f"the agent's cgroup was given no {absent} controller" in logged
    assert (cgroup / GROUP_NAME / "cgroup.subtree_control").read_text().split() == [controller]


def test_a_containers_cgroup_holds_its_processes_and_kills_and_removes_them_all(base: tuple[Path, str, Path]) -> None:
    mount, _, cgroup = base
    argv = [sys.executable, "-c", CONTAINER, str(mount), str(cgroup)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert (seen["version"], seen["dirs"]) == (2, [str(cgroup / GROUP_NAME / "ctr_v2")])
    assert (seen["held"], seen["killed"], seen["left"]) == (2, -9, [])
    given = (mount / "cgroup.controllers").read_text().split()
    expected = {"memory.max": str(256 << 20), "pids.max": "64"}
    # the limits of the controllers this hierarchy has (memory and pids on a v2 host; none on a v1 one)
    assert seen["limits"] == {name: value for name, value in expected.items() if name.split(".")[0] in given}
