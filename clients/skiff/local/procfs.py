"""Pidfiles and /proc: finding our processes again after the supervisor that started them was killed.

A pid alone may have been reused by an unrelated process, so a process counts as ours only when
its command line (`/proc/PID/cmdline`) is the one we started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def write_pidfile(path: Path, pid: int) -> None:
    path.write_text(f"{pid}\n")


def read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cmdline(pid: int) -> list[str] | None:
    """The argv of a live process; None when it is gone or a zombie (whose cmdline is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def is_running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # the command name in parentheses may hold spaces


def terminate(pid: int, signum: int, timeout: float) -> bool:
    """Stop a process that is not our child: `signum`, then SIGKILL after `timeout` seconds.

    Returns whether it is gone.
    """
    for sent in (signum, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sent)
        deadline = time.monotonic() + timeout
        while is_running(pid):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return True
    return False


def kill_group(pgid: int) -> None:
    """SIGKILL whatever is left in a process group whose leader has exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
