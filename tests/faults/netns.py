"""Hosts of their own for the fault tests: one network namespace per host, joined to the root
namespace by a veth pair of its own, which a test can cut and heal.

Addresses: each host gets a /30 from 198.18.0.0/15 (RFC 2544's range for network tests, never
routed anywhere): the root side of its link holds the first address, the host the second. A process
in the host reaches the root namespace only at that first address (`Host.gateway`), over its own
link. A /30 per host rather than one shared bridge keeps each link a separate thing to cut, and
needs no bridge module; the hosts cannot reach each other (the root namespace does not forward).

Partition: the `blackhole` qdisc on both ends of the host's link. Every packet either way is
dropped silently after the sender's stack took it as sent: sockets stay established, segments are
retransmitted into nothing, new connections time out on their SYN — what a cut far away looks like
to both ends. Healing removes the qdiscs; retransmissions get through and open connections carry on
if neither end gave up meanwhile. (`ip link set down` would instead remove the link's routes: sends
from the host fail at once with ENETUNREACH and the peer sees NO-CARRIER — a fast local error that
lets each end notice at once, which a real partition does not.)

Processes enter a host with `nsenter --net`, which switches the network namespace only. (`ip netns
exec` also unshares the mount namespace and remounts /sys, which hides /sys/fs/cgroup: an agent
started that way would lose its cgroups and run unlike one on a real machine.) They still share the
root filesystem, the cgroup tree and the pid namespace with the test.

Names carry the pid of the test process (`skiff-test-<pid>-<n>-<host>`, links `sk<pid hex>h<n>`):
a new network first removes what a run whose process is gone left behind (a crash, a SIGKILL), and
leaves a concurrent run's alone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NETNS_PREFIX = "skiff-test-"
LINK_PATTERN = re.compile(r"^sk([0-9a-f]+)h\d+$")
HOST_LINK = "eth0"  # the host's end of its link, inside its namespace
POOL = ipaddress.IPv4Network("198.18.0.0/15")
COMMAND_TIMEOUT = 30.0
_ordinal = itertools.count(1)  # numbers every host this process makes, so no name is used twice


class NetnsError(Exception):
    """A namespace, link or qdisc could not be made or changed; the message has the command's error."""


def _run(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise NetnsError(f"{argv[0]} is not installed (Debian: iproute2, util-linux): {exc}") from exc
    if done.returncode != 0:
        raise NetnsError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _json(argv: Sequence[str]) -> list[dict[str, Any]]:
    text = _run(argv).strip()
    return json.loads(text) if text else []  # `ip -j netns list` prints nothing when there are none


def check_available() -> None:
    """Raises NetnsError saying what is missing when this machine cannot make hosts."""
    missing = [tool for tool in ("ip", "tc", "nsenter") if shutil.which(tool) is None]
    if missing:
        raise NetnsError(
            f"network namespace tests need {', '.join(missing)} on PATH "
            "(Debian packages iproute2 and util-linux; scripts/install.sh installs them)"
        )
    if os.geteuid() != 0:
        raise NetnsError("network namespace tests must run as root (they need CAP_SYS_ADMIN and CAP_NET_ADMIN)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespace_pids(netns: str) -> list[int]:
    return [int(pid) for pid in _run(["ip", "netns", "pids", netns]).split()]


def _kill_all_in(netns: str, timeout: float = 10.0) -> None:
    """SIGKILL every process in the namespace, until none is left (each SIGKILL may race a fork)."""
    deadline = time.monotonic() + timeout
    while pids := namespace_pids(netns):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise NetnsError(f"processes {pids} in {netns} survived SIGKILL")
        time.sleep(0.05)


def remove_stale() -> list[str]:
    """Remove namespaces and links whose test process is gone; returns what it removed."""
    removed = []
    for entry in _json(["ip", "-j", "netns", "list"]):
        name = str(entry.get("name", ""))
        owner = name.removeprefix(NETNS_PREFIX).split("-", 1)[0]
        if name.startswith(NETNS_PREFIX) and owner.isdigit() and not _alive(int(owner)):
            _kill_all_in(name)
            _run(["ip", "netns", "delete", name])
            removed.append(name)
    for link in _json(["ip", "-j", "link", "show", "type", "veth"]):
        match = LINK_PATTERN.match(str(link.get("ifname", "")))
        if match and not _alive(int(match.group(1), 16)):
            with contextlib.suppress(NetnsError):  # gone already with its peer's namespace
                _run(["ip", "link", "delete", match.group(0)])
                removed.append(match.group(0))
    return removed


def _free_subnet() -> ipaddress.IPv4Network:
    """A /30 of the pool that no address in the root namespace is in; the search starts at a place
    of this process's own, so that concurrent runs rarely try the same one."""
    used = {
        ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False)
        for entry in _json(["ip", "-j", "-4", "addr", "show"])
        for info in entry.get("addr_info", [])
    }
    subnets = list(POOL.subnets(new_prefix=30))
    start = (os.getpid() * 16) % len(subnets)
    for subnet in subnets[start:] + subnets[:start]:
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise NetnsError(f"no free /30 left in {POOL}")


@dataclass
class Host:
    """A machine of its own on the network: a namespace, its link to the root namespace, and the
    processes the test started in it."""

    name: str
    netns: str
    link: str  # the root namespace's end of the link
    gateway: str  # the root namespace's address on the link: what processes in the host connect to
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    partitioned: bool = False

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside this host's network namespace (and nowhere else different)."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--", *argv]

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Starts `argv` in this host, its output appended to `log` (a restart adds to the same log).
        nsenter execs `argv`: the returned process is the program itself, to signal by its pid."""
        with log.open("ab") as out:
            process = subprocess.Popen(self.command(argv), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def partition(self) -> None:
        """Blackholes the link both ways; see the module's docstring for what TCP makes of it."""
        _run(["tc", "qdisc", "replace", "dev", self.link, "root", "blackhole"])
        _run(["tc", "-n", self.netns, "qdisc", "replace", "dev", HOST_LINK, "root", "blackhole"])
        self.partitioned = True

    def heal(self) -> None:
        _run(["tc", "-n", self.netns, "qdisc", "delete", "dev", HOST_LINK, "root"])
        _run(["tc", "qdisc", "delete", "dev", self.link, "root"])
        self.partitioned = False

    def pids(self) -> list[int]:
        """Processes in this host's network namespace (sandboxes with a namespace of their own are not)."""
        return namespace_pids(self.netns)

    def close(self) -> None:
        """Kills everything in the host, then removes its namespace and link."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        with contextlib.suppress(NetnsError):  # the namespace may not have been made
            _kill_all_in(self.netns)
        errors = []
        for argv in (["ip", "netns", "delete", self.netns], ["ip", "link", "delete", self.link]):
            try:
                _run(argv)
            except NetnsError as exc:
                errors.append(str(exc))
        # Deleting the namespace takes the veth pair with it, so the link is usually gone already.
        if self.netns in {str(e.get("name")) for e in _json(["ip", "-j", "netns", "list"])}:
            raise NetnsError(f"could not remove {self.netns}: {errors}")


class Network:
    """The hosts of one test. Used as a context manager: on exit every host is removed, whatever
    happened in the block."""

    def __init__(self) -> None:
        self.hosts: dict[str, Host] = {}

    def __enter__(self) -> Network:
        self.open()
        return self

    def open(self) -> None:
        """Checks that hosts can be made here, and removes what dead runs left; raises NetnsError."""
        check_available()
        remove_stale()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_host(self, name: str) -> Host:
        number = next(_ordinal)
        subnet = _free_subnet()
        gateway, address = (str(a) for a in itertools.islice(subnet.hosts(), 2))
        host = Host(
            name=name,
            netns=f"{NETNS_PREFIX}{os.getpid()}-{number}-{name}",
            link=f"sk{os.getpid():x}h{number}",
            gateway=gateway,
            address=address,
        )
        self.hosts[name] = host  # before anything is made: close() removes a half-made host too
        try:
            _run(["ip", "netns", "add", host.netns])
        except NetnsError as exc:
            raise NetnsError(f"{exc} (network namespaces need root with CAP_SYS_ADMIN and CAP_NET_ADMIN)") from exc
        _run(["ip", "link", "add", host.link, "type", "veth", "peer", "name", HOST_LINK, "netns", host.netns])
        _run(["ip", "addr", "add", f"{gateway}/30", "dev", host.link])
        _run(["ip", "link", "set", host.link, "up"])
        inside = ["ip", "-n", host.netns]
        _run([*inside, "addr", "add", f"{address}/30", "dev", HOST_LINK])
        _run([*inside, "link", "set", HOST_LINK, "up"])
        _run([*inside, "link", "set", "lo", "up"])
        return host

    def close(self) -> None:
        errors = []
        for host in self.hosts.values():
            try:
                host.close()
            except NetnsError as exc:
                errors.append(str(exc))
        self.hosts.clear()
        if errors:
            raise NetnsError("; ".join(errors))
