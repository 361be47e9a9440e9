"""Which host user a sandbox runs as.

Inside, every sandbox runs as the same unprivileged user (rootfs.INSIDE_UID). Outside, an agent running
as root gives each function its own unprivileged host uid from a range no account owns, so that
code which got out of its namespaces would hold no privilege on the host, and the kernel's per-user
counts (processes, inotify instances, user namespaces) are not shared between tenants. An agent
that is not root runs its sandboxes as itself.

The sandbox's user must be able to reach what is bound into it (bwrap resolves each bind's path
with that user's rights), so the agent checks those paths before it takes any work.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox.access import unreachable
from agent.sandbox.bwrap import BWRAP

# systemd leaves 0x70000000 to 0x7FFFFFFF unused (its UIDS-GIDS notes); no account is created there.
DEFAULT_FIRST_UID = 1_900_000_000
DEFAULT_UID_COUNT = 65_536
DEFAULT_RANGE = f"{DEFAULT_FIRST_UID}:{DEFAULT_UID_COUNT}"
MAX_UID = 0xFFFF_FFFE  # (uid_t)-1 means "no change" to the kernel
AUTO, AGENT = "auto", "agent"


class SandboxUsersError(ValueError):
    """The sandbox-user setting cannot be used on this node; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class UidRange:
    first: int
    count: int

    @classmethod
    def parse(cls, text: str) -> UidRange:
        first, sep, count = text.partition(":")
        try:
            parsed = cls(int(first), int(count))
        except ValueError:
            raise SandboxUsersError(
                f"sandbox uids {text!r}: expected START:COUNT (e.g. {DEFAULT_RANGE}), {AUTO!r} or {AGENT!r}"
            ) from None
        if not sep or parsed.first < 1 or parsed.count < 1 or parsed.first + parsed.count - 1 > MAX_UID:
            raise SandboxUsersError(
                f"sandbox uids {text!r}: START must be at least 1, COUNT at least 1, and the range must end "
                f"at or below {MAX_UID}"
            )
        return parsed


class SandboxUsers:
    """Host uids by function: the same function always gets the same uid (its zygote and the
    containers forked from it share it), different functions get different ones until the range is
    used up, then uids are shared in turn."""

    def __init__(self, uids: UidRange | None, offset: int = 0) -> None:
        self.uids = uids
        self._next = offset % uids.count if uids else 0  # agents sharing a host start apart
        self._by_key: dict[str, int] = {}

    def uid_for(self, key: str) -> int | None:
        """The host uid for `key`'s sandboxes; None: the agent's own."""
        if self.uids is None:
            return None
        uid = self._by_key.get(key)
        if uid is None:
            uid = self._by_key[key] = self.uids.first + self._next
            self._next = (self._next + 1) % self.uids.count
        return uid


def probe(uid: int) -> str | None:
    """Why bwrap cannot build a sandbox as `uid` here (e.g. unprivileged user namespaces are off); None if it can."""
    try:
        result = subprocess.run(
            [BWRAP, "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--", "/bin/true"],
            user=uid,
            group=uid,
            extra_groups=[],
            env={},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if result.returncode == 0 else (result.stderr.strip() or f"bwrap exited with {result.returncode}")


def choose(setting: str, sources: list[Path], offset: int = 0) -> tuple[SandboxUsers, str | None]:
    """The sandbox users for `setting` ("auto", "agent" or START:COUNT), and, when "auto" had to fall
    back to the agent's own uid, why. An explicit range that cannot work raises SandboxUsersError."""
    if setting == AGENT:
        return SandboxUsers(None), None
    explicit = setting != AUTO
    uids = UidRange.parse(setting) if explicit else UidRange(DEFAULT_FIRST_UID, DEFAULT_UID_COUNT)
    if os.geteuid() != 0:
        if explicit:
            raise SandboxUsersError(f"sandbox uids {setting}: only an agent run as root can run sandboxes as others")
        return SandboxUsers(None), None  # already unprivileged: sandboxes run as the agent's own user
    first = uids.first + offset % uids.count
    why = probe(first)
    if why is None:
        why = next((found for found in (unreachable(path, first) for path in sources) if found), None)
        if why is not None:
            why = f"an unprivileged sandbox user cannot reach what sandboxes need: {why}"
    else:
        why = f"bwrap cannot start a sandbox as uid {first}: {why}"
    if why is None:
        return SandboxUsers(uids, offset), None
    if explicit:
        raise SandboxUsersError(f"sandbox uids {setting}: {why}")
    return SandboxUsers(None), why
