"""What every sandbox backend offers the agent: a spec in, a running container, an exit status out.

Backends (bubblewrap today, gVisor later) implement ``Sandbox``; the container lifecycle in
``agent.container`` only talks to this Protocol.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

MiB = 1 << 20

LogSink = Callable[[str, bytes], None]
"""Called with ("stdout" | "stderr", one line without its newline) as the sandbox prints."""


@dataclass(frozen=True, slots=True)
class Limits:
    memory_bytes: int = 512 * MiB
    pids: int = 256
    cpus: float = 1.0
    tmp_bytes: int = 64 * MiB  # the /tmp tmpfs; its pages also count against memory_bytes
    output_bytes: int = 1 * MiB  # stdout and stderr each keep at most this much for the exit report
    log_bytes: int = 8 * MiB  # lines handed to the log sink per stream before it is cut off
    open_files: int = 4096


@dataclass(frozen=True, slots=True)
class Bind:
    """A host path made visible read-only inside the sandbox."""

    source: Path
    target: str


@dataclass(frozen=True, slots=True)
class ProcView:
    """A /proc directory shown with only some of its entries, e.g. a GPU container's
    /proc/driver/nvidia/gpus, which lists its own GPUs and no others."""

    directory: str
    entries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    container_id: str  # also names the cgroup: letters, digits, '-' and '_' only
    argv: Sequence[str]  # the command inside the sandbox
    python_executable: Path  # the real interpreter binary; its installation is bound read-only
    binds: Sequence[Bind] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # declared env and secrets; fixed vars are added
    limits: Limits = Limits()
    cwd: str = "/tmp"  # noqa: S108  # inside the sandbox: its own tmpfs
    pass_fds: Sequence[int] = ()  # fds kept open, with the same numbers, inside the sandbox
    run_as_uid: int | None = None  # host uid to run the sandbox as (None: the agent's uid)
    devices: Sequence[Path] = ()  # character devices bound read-write at the same path (GPUs)
    proc_views: Sequence[ProcView] = ()


class ExitKind(enum.StrEnum):
    EXITED = "exited"  # exit code 0
    EXIT_CODE = "exit_code"  # nonzero exit code
    SIGNALED = "signaled"  # killed by a signal the agent did not send
    OOM = "oom"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    KILLED = "killed"  # by the agent, for another reason (shutdown grace ran out, lease lost...)


@dataclass(frozen=True, slots=True)
class ExitStatus:
    kind: ExitKind
    exit_code: int | None = None
    signal: int | None = None
    detail: str = ""

    @property
    def reason(self) -> str:
        """One line for people: 'out of memory (limit 512 MiB)', 'killed by SIGSEGV', ..."""
        if self.kind is ExitKind.EXITED:
            return "exited cleanly"
        if self.kind is ExitKind.EXIT_CODE:
            return f"exit code {self.exit_code}"
        if self.kind is ExitKind.SIGNALED:
            return f"killed by {signal_name(self.signal)}"
        text = {ExitKind.OOM: "out of memory", ExitKind.TIMED_OUT: "timed out"}.get(self.kind, self.kind.value)
        return f"{text} ({self.detail})" if self.detail else text


def signal_name(number: int | None) -> str:
    try:
        return signal.Signals(number or 0).name
    except ValueError:
        return f"signal {number}"


def format_bytes(size: int) -> str:
    if size % (1 << 30) == 0:
        return f"{size >> 30} GiB"
    return f"{size / MiB:g} MiB"


class Sandbox(Protocol):
    """One running container: its processes, their output, and why it ended."""

    @property
    def container_id(self) -> str: ...

    @property
    def exit_status(self) -> ExitStatus | None:
        """None while running."""

    async def start(self) -> None:
        """Create limits, launch the command; returns once it runs (not when the runtime is ready)."""

    async def wait(self) -> ExitStatus:
        """Wait until every process of the container is gone and its resources are released."""

    async def kill(self, kind: ExitKind = ExitKind.KILLED, detail: str = "") -> ExitStatus:
        """Kill every process of the container; the first recorded reason wins."""

    def pids(self) -> list[int]:
        """Host pids of the container's processes (empty once it is gone)."""

    def output(self, stream: str) -> bytes:
        """What the container printed on "stdout" or "stderr", capped with a truncation marker."""
