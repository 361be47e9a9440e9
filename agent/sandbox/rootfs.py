"""What the sandbox's filesystem holds: the Python it runs on, a few synthetic /etc files, links.

Nothing else of the host is visible: no /etc (Python needs none of it), no /home, no /root, no
agent configuration. Paths are bound at the same place inside so that a venv's absolute paths
(pyvenv.cfg ``home``, script shebangs) keep working.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox.interface import Bind

HOSTNAME = "skiff"
# Who runs inside every sandbox, whichever host user runs the sandbox (users.py).
INSIDE_UID = INSIDE_GID = 1000
INSIDE_USER = "skiff"
# paths inside the sandbox (fresh size-capped tmpfs mounts), not the host's shared /tmp
SANDBOX_TMP = "/tmp"  # noqa: S108
SANDBOX_SHM = "/dev/shm"  # noqa: S108
# getpass.getuser() and libraries built on it (torch's caches) fail without a passwd entry.
ETC_FILES = {
    "/etc/passwd": (
        f"root:x:0:0:root:{SANDBOX_TMP}:/usr/sbin/nologin\n"
        f"{INSIDE_USER}:x:{INSIDE_UID}:{INSIDE_GID}:{INSIDE_USER}:{SANDBOX_TMP}:/usr/sbin/nologin\n"
        f"nobody:x:65534:65534:nobody:{SANDBOX_TMP}:/usr/sbin/nologin\n"
    ),
    "/etc/group": f"root:x:0:\n{INSIDE_USER}:x:{INSIDE_GID}:\nnogroup:x:65534:\n",
    "/etc/hosts": "127.0.0.1 localhost\n::1 localhost\n",
}
FIXED_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": SANDBOX_TMP,
    "TMPDIR": SANDBOX_TMP,
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",  # bundle and environment are read-only
}
ROOT_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def system_layout() -> tuple[list[tuple[str, str]], list[Bind]]:
    """The host's top-level /bin, /lib... as (symlink target, path) on merged-/usr hosts, else binds."""
    links: list[tuple[str, str]] = []
    binds = [Bind(Path("/usr"), "/usr")]  # the C library and the system Python live here
    for name in ROOT_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            links.append((str(path.readlink()), str(path)))
        elif path.is_dir():
            binds.append(Bind(path, str(path)))
    return links, binds


def python_binds(executable: Path) -> list[Bind]:
    """The installation the interpreter runs from, when it is outside /usr (pyenv, /opt/python...)."""
    prefix = executable.resolve().parent.parent
    if prefix == Path("/usr") or Path("/usr") in prefix.parents:
        return []
    return [Bind(prefix, str(prefix))]


# /proc entries every sandbox sees empty: what runc hides by default, and every top-level file the
# host keeps to root (slabinfo, timer_list, kpage*...). A sandbox run as the agent's own user is
# that user to the kernel, so without this one run as root could read them.
PROC_HIDDEN = ("kcore", "keys", "timer_list", "sched_debug", "latency_stats", "timer_stats", "acpi", "asound", "scsi")
# Kept read-only (bwrap covers sysrq-trigger, irq and bus itself). To the kernel, a sandbox run as
# root is root writing sysctls: it could set the host's kernel.core_pattern and have a program run
# as root on the next crash.
PROC_READ_ONLY = ("sys", "fs")


@dataclass(frozen=True, slots=True)
class ProcCover:
    """How a sandbox's own /proc is trimmed on this node (paths inside the sandbox)."""

    hidden_files: tuple[str, ...]  # /dev/null bound over them
    hidden_dirs: tuple[str, ...]  # an empty read-only tmpfs over them
    read_only: tuple[str, ...]


@functools.cache
def proc_cover(proc: Path = Path("/proc")) -> ProcCover:
    """The entries of PROC_HIDDEN and PROC_READ_ONLY this kernel has, and its root-only files."""
    files, dirs, read_only = [], [], []
    for entry in sorted(os.scandir(proc), key=lambda e: e.name):
        if entry.name.isdigit() or entry.is_symlink():
            continue
        info = entry.stat(follow_symlinks=False)
        inside = f"/proc/{entry.name}"
        if entry.name in PROC_READ_ONLY:
            read_only.append(inside)
        elif stat.S_ISDIR(info.st_mode):
            if entry.name in PROC_HIDDEN:
                dirs.append(inside)
        elif entry.name in PROC_HIDDEN or not info.st_mode & stat.S_IROTH:
            files.append(inside)
    return ProcCover(tuple(files), tuple(dirs), tuple(read_only))
