"""Per-container cgroups: memory, pids and CPU limits, OOM detection, and killing every process.

cgroup v2 where /sys/fs/cgroup is cgroup2 (GPU nodes); v1 memory/pids/cpu where it is a v1 or
hybrid layout (the CI machines). The agent writes cgroupfs itself: no systemd, no cgroup tools.
A container's cgroup lives under the agent's own cgroup, in ``skiff/<container-id>``, so it
stays inside whatever the agent's supervisor (systemd, a test harness) gave the agent. (On v2 the
agent itself moves into a leaf of that cgroup first, see `v2_parent`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import ClassVar

from agent.sandbox.interface import Limits

log = logging.getLogger(__name__)
CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
V2_CONTROLLERS = ("memory", "pids", "cpu")
# v2 hands controllers only to the children of a cgroup with no processes of its own: the agent moves
# into AGENT_LEAF, and whatever shares its cgroup into PEERS_LEAF (see `_delegate`).
AGENT_LEAF = "skiff-agent"
PEERS_LEAF = "skiff-peers"
DELEGATE_TRIES = 4
GROUP_NAME = "skiff"
CPU_PERIOD_US = 100_000


# A named v1 hierarchy with no controllers, mounted only to hold the `favordynmods` option (below).
DYNMODS_HIERARCHY = "skiff-dynmods"
DYNMODS_MOUNT = Path("/run/skiff/cgroup-dynmods")


def favor_dynamic_moves(mount_dir: Path = DYNMODS_MOUNT) -> str:
    """Makes moving a process into a cgroup fast; returns what it found or did, for the log.

    A move takes the kernel's global threadgroup lock for writing, and when that lock has gone idle,
    taking it first waits for an RCU grace period: 5-21 ms on these machines (cgroup v1, Linux 6.18)
    for the one move a cold start makes after an idle spell, against 0.3 ms with `favordynmods`
    (Linux 6.1+), which keeps the lock where a writer does not wait, for slightly dearer forks and
    exits on the whole machine: the right trade on a node that exists to start sandboxes. The
    option belongs to the kernel, not to one hierarchy: any cgroup mount that has it turns it on.
    Rather than remount the host's own hierarchies (a v2 remount resets the options it is not
    given), the agent mounts a named v1 hierarchy with no controllers and the option, and leaves it.
    """
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, target, fstype, options, *_ = line.split()
        if fstype in ("cgroup", "cgroup2") and "favordynmods" in options.split(","):
            return f"already on (the cgroup mount at {target})"
    try:
        mount_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"not available: {exc}"
    options = f"none,name={DYNMODS_HIERARCHY},favordynmods"
    argv = ["mount", "-t", "cgroup", "-o", options, "cgroup", str(mount_dir)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError as exc:
        return f"not available: {exc}"
    if result.returncode != 0:  # an older kernel, no v1 support, or no CAP_SYS_ADMIN
        return f"not available: {(result.stderr or result.stdout).strip()[:300]}"
    return f"turned on (a cgroup mount at {mount_dir})"


def valid_name(container_id: str) -> bool:
    """Whether a container id may name its cgroup (and a file): letters, digits, '-' and '_'."""
    return bool(container_id) and all(c.isalnum() or c in "-_" for c in container_id)


class CgroupUnavailable(Exception):
    """cgroupfs is missing or not writable here; the launcher falls back to rlimits."""


class ContainerCgroup:
    """The cgroup (one per controller on v1) that holds every process of one container."""

    # Made ahead of a container's next process (an asleep container's), by container id: that start
    # takes it rather than making the directories and writing the limits (1.7 ms p50 on cgroup v1).
    _prepared: ClassVar[dict[str, ContainerCgroup]] = {}

    def __init__(self, version: int, dirs: list[Path], limits: Limits) -> None:
        self.version = version
        self.dirs = dirs  # v2: one directory; v1: one per controller, memory first
        self.limits = limits

    @classmethod
    def prepare(cls, container_id: str, limits: Limits, root: Path = CGROUP_ROOT) -> ContainerCgroup:
        """Make the cgroup the container's next start takes; `discard_prepared` if none will come."""
        prepared = cls._prepared[container_id] = cls.create(container_id, limits, root)
        return prepared

    @classmethod
    async def discard_prepared(cls, container_id: str) -> None:
        prepared = cls._prepared.pop(container_id, None)
        if prepared is not None:
            await prepared.destroy()

    @classmethod
    def create(cls, container_id: str, limits: Limits, root: Path = CGROUP_ROOT) -> ContainerCgroup:
        prepared = cls._prepared.pop(container_id, None)
        if prepared is not None and prepared.limits == limits and all(d.is_dir() for d in prepared.dirs):
            return prepared  # otherwise it is removed below as stale
        if not valid_name(container_id):
            raise ValueError(f"container id {container_id!r} must be letters, digits, '-' or '_'")
        try:
            version = 2 if (root / "cgroup.controllers").exists() else 1
            group = cls(version, cgroup_dirs(container_id, root), limits)
            for directory in group.dirs:
                _remove_stale(directory)
                _make_dir(directory)
            group._write_limits()
        except OSError as exc:
            raise CgroupUnavailable(f"cannot create cgroups under {root}: {exc}") from exc
        return group

    @staticmethod
    def remove_leftover(container_id: str, root: Path = CGROUP_ROOT) -> None:
        """Kill and remove a container's cgroups left behind by an agent that died (ids are unique)."""
        for directory in cgroup_dirs(container_id, root):
            _remove_stale(directory)
            with contextlib.suppress(OSError):  # the shared parent, when this was its last child
                directory.parent.rmdir()

    def _write_limits(self) -> None:
        memory, pids = str(self.limits.memory_bytes), str(self.limits.pids)
        quota = str(max(1000, int(self.limits.cpus * CPU_PERIOD_US)))
        if self.version == 2:  # each file is there when its controller was handed down (see `v2_parent`)
            cgroup = self.dirs[0]
            _write_if_present(cgroup / "memory.max", memory)
            _write_if_present(cgroup / "memory.swap.max", "0")
            _write_if_present(cgroup / "pids.max", pids)
            _write_if_present(cgroup / "cpu.max", f"{quota} {CPU_PERIOD_US}")
            return
        memory_dir, pids_dir, cpu_dir = self.dirs
        _write(memory_dir / "memory.limit_in_bytes", memory)
        _write_if_present(memory_dir / "memory.memsw.limit_in_bytes", memory)  # after the limit: memsw >= mem
        _write(pids_dir / "pids.max", pids)
        _write(cpu_dir / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(cpu_dir / "cpu.cfs_quota_us", quota)

    def add(self, pid: int) -> None:
        for directory in self.dirs:
            _write(directory / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        try:
            return _procs(self.dirs[0])
        except FileNotFoundError:
            return []

    def oom_killed(self) -> bool:
        if self.version == 2:
            events = self.dirs[0] / "memory.events"
            return events.exists() and _read_counter(events, "oom_kill") > 0
        oom_control = self.dirs[0] / "memory.oom_control"
        if "oom_kill " in oom_control.read_text():
            return _read_counter(oom_control, "oom_kill") > 0
        return int((self.dirs[0] / "memory.failcnt").read_text()) > 0  # kernels before 4.13

    def memory_peak(self) -> int | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.dirs[0] / name).read_text())
        except (FileNotFoundError, ValueError):
            return None

    async def kill_all(self, deadline_s: float = 10.0) -> None:
        """SIGKILL every process until the cgroup is empty (v1 has no cgroup.kill)."""
        deadline = time.monotonic() + deadline_s
        kill_file = self.dirs[0] / "cgroup.kill"
        while pids := self.pids():
            if self.version == 2 and kill_file.exists():
                _write(kill_file, "1")
            else:
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes {pids} in {self.dirs[0]} survived SIGKILL for {deadline_s} s")
            await asyncio.sleep(0.005)

    async def destroy(self, deadline_s: float = 10.0) -> None:
        await self.kill_all(deadline_s)
        for directory in self.dirs:
            await _rmdir_when_released(directory, time.monotonic() + deadline_s)
            if self.version == 1:
                # an empty skiff/ left inside the agent's own cgroup would block its supervisor's cleanup
                with contextlib.suppress(OSError):
                    directory.parent.rmdir()


def leftover_ids(prefix: str, root: Path = CGROUP_ROOT) -> list[str]:
    """Ids of the container cgroups here whose names start with prefix (an earlier agent's, at start)."""
    parent = cgroup_dirs(f"{prefix}probe", root)[0].parent
    if not parent.is_dir():
        return []
    return sorted(entry.name for entry in parent.iterdir() if entry.is_dir() and entry.name.startswith(prefix))


def cgroup_dirs(container_id: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """Where a container's cgroups live: one directory on v2, one per controller on v1."""
    if (root / "cgroup.controllers").exists():
        return [v2_parent(root) / container_id]
    own = _own_cgroups()  # read once for the three controllers: this runs on every container's start
    return [_v1_parent(root, controller, own) / container_id for controller in V1_CONTROLLERS]


def container_parents(agent_pid: int, root: Path = CGROUP_ROOT) -> list[Path]:
    """Where the running agent `agent_pid` keeps its containers' cgroups, read from outside it (nothing
    is made): one directory on v2, one per controller on v1."""
    own = _own_cgroups(agent_pid)
    if (root / "cgroup.controllers").exists():
        return [_v2_base(root, own) / GROUP_NAME]
    return [_v1_parent(root, controller, own) for controller in V1_CONTROLLERS]


def _v1_parent(root: Path, controller: str, own: dict[str, str]) -> Path:
    relative = next((path for names, path in own.items() if controller in names.split(",")), "/")
    return root / controller / relative.lstrip("/") / GROUP_NAME


def v2_parent(root: Path, controllers: tuple[str, ...] = V2_CONTROLLERS) -> Path:
    """The cgroup that holds the containers' cgroups on v2, with `controllers` handed down to them:
    `skiff/` beside the agent, under the cgroup the agent's supervisor gave it."""
    parent = _v2_base(root, _own_cgroups()) / GROUP_NAME
    if parent.exists():
        return parent
    given = (parent.parent / "cgroup.controllers").read_text().split()
    if missing := [controller for controller in controllers if controller not in given]:
        log.warning(
            "the agent's cgroup was given no %s controller: containers run without those limits; a service "
            "unit with Delegate=yes gives them all",
            " or ".join(missing),
        )
    wanted = " ".join(f"+{controller}" for controller in controllers if controller in given)
    if wanted:
        _delegate(parent.parent, wanted)
    parent.mkdir(exist_ok=True)
    if wanted:
        _write(parent / "cgroup.subtree_control", wanted)
    return parent


def _v2_base(root: Path, own: dict[str, str]) -> Path:
    """The cgroup the agent's supervisor gave it, even once the agent has moved into its leaf, or when
    it was started again from a process moved into the peers' leaf (the shell it shared its cgroup with)."""
    path = root / own.get("", "/").lstrip("/")
    return path.parent if path.name in (AGENT_LEAF, PEERS_LEAF) else path


def _delegate(base: Path, wanted: str) -> None:
    """Hand controllers to base's children. v2 refuses that while base itself holds processes (the
    hierarchy's root aside): the agent moves into a leaf of its own, as systemd-delegated daemons
    do, and any process it shares its cgroup with (a shell, a test harness) into another, as container
    runtimes' init scripts do. Both leaves stay under base, inside whatever limits it has."""
    for attempt in range(DELEGATE_TRIES):
        try:
            _write(base / "cgroup.subtree_control", wanted)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == DELEGATE_TRIES - 1:
                raise
        if attempt == 0:
            _move(base / AGENT_LEAF, [os.getpid()])
            continue
        peers = [pid for pid in _procs(base) if pid != os.getpid()]  # forked meanwhile, or there from the start
        log.warning("moving the processes that share the agent's cgroup into a leaf", extra={"pids": peers})
        _move(base / PEERS_LEAF, peers)


def _move(leaf: Path, pids: list[int]) -> None:
    leaf.mkdir(exist_ok=True)
    for pid in pids:
        try:
            _write(leaf / "cgroup.procs", str(pid))
        except OSError as exc:
            if exc.errno != errno.ESRCH:  # gone meanwhile
                raise


def _procs(cgroup: Path) -> list[int]:
    return [int(line) for line in (cgroup / "cgroup.procs").read_text().split()]


def _own_cgroups(pid: int | str = "self") -> dict[str, str]:
    """controllers -> path of the process, from /proc/<pid>/cgroup ('' is the v2 hierarchy)."""
    result: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        result[names] = path
    return result


def _remove_stale(directory: Path, deadline_s: float = 5.0) -> None:
    # A container id is unique; a leftover directory is from an agent that died before cleanup.
    deadline = time.monotonic() + deadline_s
    while directory.exists():
        pids = (directory / "cgroup.procs").read_text().split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        if not pids and _try_rmdir(directory, deadline):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not empty the leftover cgroup {directory}")
        time.sleep(0.01)  # rare (a dead agent's leftovers), so a short blocking wait is fine


async def _rmdir_when_released(directory: Path, deadline: float) -> None:
    for _ in range(10_000):  # bounded by the deadline; cgroupfs offers nothing to wait on
        if _try_rmdir(directory, deadline):
            return
        await asyncio.sleep(0.01)


def _try_rmdir(directory: Path, deadline: float) -> bool:
    try:
        directory.rmdir()
    except FileNotFoundError:
        return True
    except OSError as exc:
        # the kernel releases a cgroup a moment after its last process is reaped
        if exc.errno != errno.EBUSY or time.monotonic() > deadline:
            raise
        return False
    return True


def _make_dir(directory: Path) -> None:
    for _ in range(2):  # another container's cleanup may remove the shared parent just in between
        with contextlib.suppress(FileNotFoundError):
            directory.mkdir(parents=True)
            return
    directory.mkdir(parents=True)


def _read_counter(path: Path, key: str) -> int:
    for line in path.read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def _write(path: Path, value: str) -> None:
    with path.open("w") as handle:
        handle.write(value)


def _write_if_present(path: Path, value: str) -> None:
    if path.exists():
        _write(path, value)
