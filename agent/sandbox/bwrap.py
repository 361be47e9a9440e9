"""The bubblewrap sandbox backend: one bwrap process per container, limited by cgroups.

Flags and why (measured on bubblewrap 0.8, see DESIGN.md §5):
- exec bwrap with an empty environment and pass only fixed and declared variables with
  --setenv: with --clearenv alone the sandbox can still read /proc/1/environ;
- --unshare-all (no network at all) with --unshare-user and --cap-drop ALL: as root, bwrap keeps
  nearly all capabilities otherwise; --disable-userns so user code cannot nest namespaces; --uid and
  --gid: inside, always the same unprivileged user, whichever host user the agent runs it as (users.py);
- --args FD: the options travel in a memfd, so /proc/1/cmdline inside shows no host paths or
  variables (bwrap 0.8 still wants the command itself on its real command line);
- --remount-ro / (and /dev): bwrap's root tmpfs is writable, and unbounded, otherwise;
- --seccomp: without it user code could ptrace the sandbox's pid 1 (see seccomp.py);
- the fresh /proc trimmed (rootfs.proc_cover): /proc/sys read-only and root-only files hidden. A
  sandbox run as the agent's own user is that user to the kernel: as root, it could otherwise write
  kernel.core_pattern, which runs a program as root on the next crash;
- no --as-pid-1: bwrap's pid 1 reaps orphans (double-forked daemons), and its exit when the
  runtime exits makes the kernel kill everything left in the pid namespace;
- --info-fd/--block-fd: bwrap reports the sandbox's pid-1 and waits while the agent puts it into
  the cgroups, so that no process of the container ever runs outside its limits;
- --dev-bind only for the devices the spec names (a container's assigned /dev/nvidiaN plus
  nvidiactl, nvidia-uvm, nvidia-uvm-tools; nvidia-caps/* under MIG), never /dev as a whole. The
  NVIDIA user-space driver (libcuda, libnvidia-ml) lives under /usr on most distributions and is
  bound with it; where a node keeps it elsewhere the agent adds read-only binds for it
  (``ContainerSpec.extra_ro_binds``). /proc/driver/nvidia comes with the sandbox's own /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

from agent.sandbox import rootfs, seccomp
from agent.sandbox.access import READ, WRITE, allows, described, unreachable
from agent.sandbox.cgroups import CgroupUnavailable, ContainerCgroup
from agent.sandbox.interface import ExitKind, ExitStatus, LogSink, ProcView, SandboxSpec, format_bytes
from agent.sandbox.output import CappedOutput

log = logging.getLogger(__name__)

BWRAP = "/usr/bin/bwrap"
START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 5.0


# The agent protects itself from the OOM killer (-1000); its sandboxes must not inherit that:
# under memory pressure on the node they are the ones to go.
SANDBOX_OOM_SCORE = 500


def set_oom_score(pid: int, score: int) -> bool:
    try:
        Path(f"/proc/{pid}/oom_score_adj").write_text(str(score))
    except OSError:
        return False  # not permitted (an unprivileged agent can only raise its own score)
    return True


class SandboxStartError(Exception):
    """bwrap refused to start the sandbox; the message carries bwrap's own error."""


def bwrap_arguments(
    spec: SandboxSpec, info_fd: int, block_fd: int, seccomp_fd: int, etc_fds: dict[str, int]
) -> list[str]:
    """bwrap's options for one container (they travel through --args; the command does not)."""
    size = str(spec.limits.tmp_bytes)
    args = ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    args += ["--uid", str(rootfs.INSIDE_UID), "--gid", str(rootfs.INSIDE_GID)]  # whichever host user runs it (users.py)
    args += ["--die-with-parent", "--new-session", "--hostname", rootfs.HOSTNAME]
    args += ["--proc", "/proc", *proc_arguments(rootfs.proc_cover(), spec.proc_views)]
    args += ["--dev", "/dev", "--size", size, "--tmpfs", rootfs.SANDBOX_SHM]
    args += ["--size", size, "--tmpfs", rootfs.SANDBOX_TMP]
    for device in spec.devices:  # before --remount-ro /dev; a device node stays writable on a ro mount
        args += ["--dev-bind", str(device), str(device)]
    links, system_binds = rootfs.system_layout()
    for target, path in links:
        args += ["--symlink", target, path]
    for bind in [*system_binds, *rootfs.python_binds(spec.python_executable), *spec.binds]:
        args += ["--ro-bind", str(bind.source), bind.target]
    for path, fd in etc_fds.items():
        args += ["--ro-bind-data", str(fd), path]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", spec.cwd]
    for name, value in {**rootfs.FIXED_ENV, **spec.env}.items():
        args += ["--setenv", name, value]
    args += ["--seccomp", str(seccomp_fd), "--info-fd", str(info_fd), "--block-fd", str(block_fd)]
    return args


def proc_arguments(cover: rootfs.ProcCover, views: Sequence[ProcView]) -> list[str]:
    """Trim the sandbox's fresh /proc: entries hidden, read-only, or shown in part."""
    args = [arg for path in cover.hidden_files for arg in ("--ro-bind", "/dev/null", path)]
    args += [arg for path in cover.hidden_dirs for arg in ("--tmpfs", path, "--remount-ro", path)]
    args += [arg for path in cover.read_only for arg in ("--ro-bind", path, path)]  # the same kernel's entries
    for view in views:
        args += ["--tmpfs", view.directory]
        for entry in view.entries:
            path = f"{view.directory}/{entry}"
            args += ["--ro-bind", path, path]
        args += ["--remount-ro", view.directory]
    return args


def check_sources(spec: SandboxSpec) -> None:
    """What the sandbox binds must exist on this node, and its user must be able to use it.

    bwrap finds a missing or unreachable bind source only while it builds the sandbox, racing the
    agent's own setup, so the same fault would read two ways; checked here it reads one way, naming
    the path. (The reachability walk costs a fresh sandbox ~0.14 ms; forks from a zygote skip it.)
    """
    check_devices(spec.devices, spec.run_as_uid)
    for bind in spec.binds:
        if not bind.source.exists():
            raise SandboxStartError(f"cannot bind {bind.source} at {bind.target}: it does not exist on this node")
        if spec.run_as_uid is not None and (why := unreachable(bind.source, spec.run_as_uid)):
            raise SandboxStartError(
                f"cannot bind {bind.source} at {bind.target}: the sandbox's user (uid {spec.run_as_uid}) "
                f"cannot reach it: {why}"
            )


def check_devices(devices: Sequence[Path], uid: int | None = None) -> None:
    """Every device must be a character device on this node (bwrap would bind a missing one silently
    wrong) that the sandbox's user, when it is not the agent's, may open for reading and writing."""
    for device in devices:
        try:
            info = device.stat()
        except OSError as exc:
            raise SandboxStartError(f"device {device} is not available on this node: {exc.strerror}") from None
        if not stat.S_ISCHR(info.st_mode):
            raise SandboxStartError(f"device {device} is not a character device")
        if uid is not None and not allows(info, uid, READ | WRITE):
            raise SandboxStartError(
                f"the sandbox's user (uid {uid}) cannot open device {device}: {described(device, info)}; "
                "give others read and write on it (NVIDIA's default mode, 0666) or run the agent with "
                "--sandbox-uids agent"
            )


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


async def _read_info(fd: int) -> dict[str, int]:
    """bwrap's --info-fd JSON; an empty dict when bwrap exited before writing it."""
    loop = asyncio.get_running_loop()
    data = b""
    while True:
        readable = loop.create_future()
        loop.add_reader(fd, readable.set_result, None)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        chunk = os.read(fd, 4096)
        if not chunk:
            return {}
        data += chunk
        with contextlib.suppress(ValueError):
            info: dict[str, int] = json.loads(data)
            return info


class BwrapSandbox:
    """One bubblewrap container. Implements ``agent.sandbox.interface.Sandbox``."""

    def __init__(self, spec: SandboxSpec, log_sink: LogSink | None = None, bwrap: str = BWRAP) -> None:
        self.spec = spec
        self._bwrap = bwrap
        limits = spec.limits
        self._outputs = {
            name: CappedOutput(name, limits.output_bytes, limits.log_bytes, log_sink) for name in ("stdout", "stderr")
        }
        self._process: asyncio.subprocess.Process | None = None
        self._cgroup: ContainerCgroup | None = None
        self._init_pid: int | None = None
        self._pidfd: int | None = None
        self._kill_reason: tuple[ExitKind, str] | None = None
        self._exit_status: ExitStatus | None = None
        self._finished: asyncio.Task[ExitStatus] | None = None

    @property
    def container_id(self) -> str:
        return self.spec.container_id

    @property
    def exit_status(self) -> ExitStatus | None:
        return self._exit_status

    @property
    def cgroup(self) -> ContainerCgroup | None:
        return self._cgroup

    async def start(self) -> None:
        try:
            check_sources(self.spec)
        except SandboxStartError:
            self._exit_status = ExitStatus(ExitKind.KILLED, detail="the sandbox failed to start")
            raise
        try:
            self._cgroup = ContainerCgroup.create(self.spec.container_id, self.spec.limits)
        except CgroupUnavailable:
            self._cgroup = None  # rlimits are the last resort
        try:
            await self._launch()
        except BaseException as exc:
            said = await self._abandon()
            if isinstance(exc, SandboxStartError | OSError):  # bwrap refused, its child died early...
                raise SandboxStartError(f"bwrap failed: {said}" if said else f"cannot start: {exc}") from exc
            raise
        self._finished = asyncio.ensure_future(self._watch())

    async def _launch(self) -> None:
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe()
        etc_fds = {path: _memfd("etc", text.encode()) for path, text in rootfs.ETC_FILES.items()}
        seccomp_fd = _memfd("seccomp", seccomp.denylist_program())
        args = bwrap_arguments(self.spec, info_w, block_r, seccomp_fd, etc_fds)
        args_fd = _memfd("bwrap-args", b"".join(arg.encode() + b"\0" for arg in args))
        child_fds = [info_w, block_r, seccomp_fd, args_fd, *etc_fds.values()]
        try:
            self._process = await asyncio.create_subprocess_exec(
                *[self._bwrap, "--args", str(args_fd), "--", *self.spec.argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={},
                pass_fds=(*child_fds, *self.spec.pass_fds),
                user=self.spec.run_as_uid,
                group=self.spec.run_as_uid,
                extra_groups=None if self.spec.run_as_uid is None else [],
            )
        finally:
            for fd in child_fds:
                os.close(fd)
        try:
            await self._confine(info_r, block_w)
        finally:
            os.close(info_r)
            os.close(block_w)

    async def _abandon(self) -> str:
        """Undo a half-done start (no process or cgroup may outlive it); returns what bwrap said."""
        if self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            os.close(self._pidfd)
            self._pidfd = None
        said = ""
        if self._process is not None:
            if self._process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
            await self._process.wait()
            if self._process.stderr is not None:
                with contextlib.suppress(TimeoutError):
                    said = (await asyncio.wait_for(self._process.stderr.read(64 * 1024), DRAIN_TIMEOUT_S)).decode(
                        errors="replace"
                    )
        await self._release_cgroup()
        self._exit_status = ExitStatus(ExitKind.KILLED, detail="the sandbox failed to start")
        return said.strip()

    async def _confine(self, info_r: int, block_w: int) -> None:
        """Put the blocked sandbox into its limits, then let it run."""
        assert self._process is not None and self._process.stderr is not None
        info = await asyncio.wait_for(_read_info(info_r), START_TIMEOUT_S)
        if "child-pid" not in info:
            raise SandboxStartError("bwrap exited before the sandbox existed")
        self._init_pid = info["child-pid"]
        for pid in (self._process.pid, self._init_pid):  # the launcher too: all of it goes before the agent
            set_oom_score(pid, SANDBOX_OOM_SCORE)
        self._pidfd = os.pidfd_open(self._init_pid)  # signals must never reach a recycled pid
        limits = self.spec.limits
        rlimits = {resource.RLIMIT_CORE: 0, resource.RLIMIT_NOFILE: limits.open_files}
        if self._cgroup is not None:
            self._cgroup.add(self._init_pid)
        else:  # no cgroups: bound the address space at least (it counts mappings, not usage)
            rlimits[resource.RLIMIT_AS] = limits.memory_bytes
        try:
            for name, value in rlimits.items():
                resource.prlimit(self._init_pid, name, (value, value))
        except PermissionError:
            # Measured: prlimit into a user namespace owned by another uid needs CAP_SYS_RESOURCE,
            # which containerised agents may lack; only the no-cgroup case cannot do without.
            if self._cgroup is None:
                raise SandboxStartError("cannot limit memory: cgroups unavailable and prlimit refused") from None
        os.write(block_w, b"go")

    async def _watch(self) -> ExitStatus:
        assert self._process is not None and self._process.stdout and self._process.stderr
        drains = [
            asyncio.ensure_future(self._outputs["stdout"].drain(self._process.stdout)),
            asyncio.ensure_future(self._outputs["stderr"].drain(self._process.stderr)),
        ]
        returncode = await self._process.wait()
        status = self._classify(returncode)
        await self._release_cgroup()
        # after the cgroup is empty nobody holds the pipes; the timeout only guards odd cases
        await asyncio.wait(drains, timeout=DRAIN_TIMEOUT_S)
        for drain in drains:
            drain.cancel()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._exit_status = status
        return status

    def _classify(self, returncode: int) -> ExitStatus:
        if self._kill_reason is not None:
            kind, detail = self._kill_reason
            return ExitStatus(kind, detail=detail)
        if returncode == 0:
            return ExitStatus(ExitKind.EXITED, exit_code=0)
        if self._cgroup is not None and self._cgroup.oom_killed():
            return ExitStatus(ExitKind.OOM, detail=f"limit {format_bytes(self.spec.limits.memory_bytes)}")
        if returncode < 0:
            return ExitStatus(ExitKind.SIGNALED, signal=-returncode)
        if returncode > 128:  # bwrap exits with 128+N when the sandboxed command died of signal N
            return ExitStatus(ExitKind.SIGNALED, signal=returncode - 128)
        return ExitStatus(ExitKind.EXIT_CODE, exit_code=returncode)

    async def _release_cgroup(self) -> None:
        if self._cgroup is None:
            return
        try:
            await self._cgroup.destroy()
        except OSError:  # TimeoutError included: processes stuck in the kernel; report, never hang
            log.exception("could not remove the cgroups of container %s", self.spec.container_id)

    async def wait(self) -> ExitStatus:
        if self._finished is None:
            if self._exit_status is not None:  # it failed to start
                return self._exit_status
            raise RuntimeError("the sandbox was not started")
        return await asyncio.shield(self._finished)

    async def kill(self, kind: ExitKind = ExitKind.KILLED, detail: str = "") -> ExitStatus:
        if self._exit_status is None and self._kill_reason is None:
            self._kill_reason = (kind, detail)
        if self._pidfd is not None:
            # pid 1 of the sandbox's pid namespace: the kernel kills every process in it
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        if self._cgroup is not None and self._exit_status is None:
            await self._cgroup.kill_all()
        return await self.wait()

    def pids(self) -> list[int]:
        if self._exit_status is not None or self._init_pid is None:
            return []
        if self._cgroup is not None:
            return self._cgroup.pids()
        return _descendants(self._init_pid)

    def output(self, stream: str) -> bytes:
        return self._outputs[stream].getvalue()


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(FileNotFoundError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return found
