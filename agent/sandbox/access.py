"""What a host user may do with a file, judged from its mode bits as the kernel judges a process of
that uid whose gid is the same number and which has no other groups: how the agent starts sandboxes
as other users (users.py). The agent checks before bwrap does, so that a refusal names the path."""

from __future__ import annotations

import os
import stat
from pathlib import Path

READ, WRITE, SEARCH = 4, 2, 1  # the bits of one class (owner, group or others)


def allows(info: os.stat_result, uid: int, wanted: int) -> bool:
    """Whether the file's mode grants `wanted` (READ | WRITE | SEARCH) to the user."""
    if info.st_uid == uid:
        granted = info.st_mode >> 6
    elif info.st_gid == uid:
        granted = info.st_mode >> 3
    else:
        granted = info.st_mode
    return granted & wanted == wanted


def described(path: Path, info: os.stat_result) -> str:
    return f"{path} is mode {stat.S_IMODE(info.st_mode):04o}, owned by uid {info.st_uid}"


def unreachable(path: Path, uid: int) -> str | None:
    """Why a process with this uid (its gid equal, no other groups) cannot read `path`; None if it can.

    Every directory on the way needs search permission for it, and `path` itself read permission
    (and search, for a directory); on the way as written and, past symlinks, as resolved.
    """
    for target in dict.fromkeys([Path.cwd() / path, path.resolve()]):
        for directory in [*reversed(target.parents), target]:
            try:
                info = directory.stat()
            except OSError as exc:
                return f"{directory}: {exc.strerror}"
            wanted = SEARCH
            if directory == target:
                wanted = READ | (SEARCH if stat.S_ISDIR(info.st_mode) else 0)
            if not allows(info, uid, wanted):
                return described(directory, info)
    return None
