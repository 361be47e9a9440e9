"""What the sandbox's filesystem holds: the Python it runs on, a few synthetic /etc files, links.

Nothing else of the host is visible: no /etc (Python needs none of it), no /home, no /root, no
agent configuration. Paths are bound at the same place inside so that a venv's absolute paths
(pyvenv.cfg ``home``, script shebangs) keep working.
"""

from __future__ import annotations

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
