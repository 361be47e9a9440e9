"""Bounded processes, memory, disk, output and time; nothing outlives its container (S4-S8, S11)."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.container import Container, OutcomeStatus
from agent.sandbox.cgroups import ContainerCgroup
from agent.sandbox.interface import ExitKind, Limits, MiB
from tests.agent.sandbox.conftest import StartContainer, call, cgroup_dirs, processes_with, result_of, wait_until

REPO = Path(__file__).resolve().parents[3]


async def assert_nothing_left(container: Container, marker: str | None = None) -> None:
    dirs = cgroup_dirs(container)
    await container.wait()
    assert container.sandbox.pids() == []
    assert [d for d in dirs if d.exists()] == []
    if marker is not None:
        assert processes_with(marker) == []


FORK_BOMB = """
import os, time

def main():
    made = 0
    while True:
        try:
            child = os.fork()
        except OSError as exc:
            return {"made": made, "errno": exc.errno}
        if child == 0:
            while True:  # every child forks too, for ever
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
        made += 1
"""


async def test_s4_a_fork_bomb_is_contained_by_the_pids_limit(start_container: StartContainer) -> None:
    container = await start_container(FORK_BOMB, limits=Limits(pids=32))
    bombed = result_of(await container.run(call(), timeout_s=60))
    assert bombed["errno"] == errno.EAGAIN
    assert bombed["made"] < 32
    assert 0 < len(container.sandbox.pids()) <= 32
    assert subprocess.run(["true"], check=False).returncode == 0  # the host can still fork
    assert (await container.shutdown(grace_s=10)).kind is ExitKind.EXITED
    await assert_nothing_left(container)


async def test_s5_a_memory_bomb_ends_in_oom_with_the_limit_and_the_agent_survives(
    start_container: StartContainer,
) -> None:
    source = "def main():\n    hoard = []\n    while True:\n        hoard.append(b'x' * (8 << 20))\n"
    container = await start_container(source, limits=Limits(memory_bytes=128 * MiB))
    outcome = await container.run(call(), timeout_s=60)
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.error is not None and outcome.error.type == "OutOfMemory"
    assert outcome.error.message.endswith("out of memory (limit 128 MiB)")
    assert container.exit_status is not None and container.exit_status.reason == "out of memory (limit 128 MiB)"
    await assert_nothing_left(container)
    survivor = await start_container("def main():\n    return 'still here'\n")
    assert result_of(await survivor.run(call())) == "still here"


DISK_FILL = """
import os

def fill(path):
    written = 0
    try:
        with open(path, "wb") as handle:
            while True:
                handle.write(b"\\0" * (1 << 20))
                handle.flush()
                written += 1 << 20
    except OSError as exc:
        return [written, exc.errno]

def main():
    found = {"tmp": fill("/tmp/fill"), "shm": fill("/dev/shm/fill")}
    for path in ("/fill", "/app/fill", "/usr/fill", "/dev/fill", "/etc/passwd"):
        try:
            open(path, "ab").close()
            found[path] = "writable"
        except OSError as exc:
            found[path] = exc.errno
    return found
"""


async def test_s6_disk_fill_is_bounded_and_everything_else_is_read_only(start_container: StartContainer) -> None:
    container = await start_container(DISK_FILL, limits=Limits(tmp_bytes=8 * MiB))
    found = result_of(await container.run(call(), timeout_s=60))
    for area in ("tmp", "shm"):
        written, error = found[area]
        assert error == errno.ENOSPC and written <= 8 * MiB
    for path in ("/fill", "/app/fill", "/usr/fill", "/dev/fill", "/etc/passwd"):
        assert found[path] == errno.EROFS, path


STUBBORN = """
import signal, subprocess

def main(marker):
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    subprocess.Popen(["/bin/sh", "-c", "trap '' TERM INT HUP; while :; do :; done", marker])
    while True:
        pass
"""


async def test_s7_a_signal_ignoring_loop_times_out_and_its_whole_tree_is_killed(
    start_container: StartContainer,
) -> None:
    marker = f"skiff-test-{uuid.uuid4().hex}"
    container = await start_container(STUBBORN)
    running = asyncio.ensure_future(container.run(call(marker), timeout_s=2.0))
    await wait_until(lambda: processes_with(marker))  # the child really ran
    outcome = await running
    assert outcome.status is OutcomeStatus.TIMED_OUT
    assert outcome.container_exit is not None and outcome.container_exit.reason == "timed out (limit 2 s)"
    await assert_nothing_left(container, marker)


DAEMON = """
import os

def main(marker):
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sh", ["/bin/sh", "-c", "trap '' TERM INT HUP; while :; do sleep 1; done", marker])
        os._exit(0)
    os.waitpid(child, 0)
    return "spawned"
"""


@pytest.mark.parametrize("ending", ["shutdown", "kill"])
async def test_s8_a_double_forked_setsid_daemon_does_not_outlive_its_container(
    start_container: StartContainer, ending: str
) -> None:
    marker = f"skiff-test-{uuid.uuid4().hex}"
    container = await start_container(DAEMON)
    assert result_of(await container.run(call(marker))) == "spawned"
    await wait_until(lambda: processes_with(marker))
    assert set(processes_with(marker)) <= set(container.sandbox.pids())  # it is in the container's cgroup
    if ending == "shutdown":
        assert (await container.shutdown()).kind is ExitKind.EXITED
    else:
        assert (await container.kill("lease lost")).reason == "killed (lease lost)"
    await assert_nothing_left(container, marker)


AGENT_SCRIPT = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from agent.container import Container, ContainerSpec, Input

async def main():
    spec = ContainerSpec(container_id=sys.argv[3], bundle_dir=Path(sys.argv[2]), handler="fn:main",
                         python=Path("/usr/bin/python3"))
    container = Container(spec)
    await container.start()
    outcome = await container.run(Input("1", ('{"args": ["%s"]}' % sys.argv[4]).encode()))
    print(outcome.status, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_s8_the_container_dies_with_its_agent(make_bundle: Callable[[str], Path]) -> None:
    marker = f"skiff-test-{uuid.uuid4().hex}"
    container_id = f"test-{uuid.uuid4().hex[:12]}"
    bundle = make_bundle(DAEMON)
    agent = await asyncio.create_subprocess_exec(
        *[sys.executable, "-c", AGENT_SCRIPT, str(REPO), str(bundle), container_id, marker],
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert agent.stdout is not None
        assert (await asyncio.wait_for(agent.stdout.readline(), 60)).strip() == b"succeeded"
        assert processes_with(marker)
    finally:
        os.kill(agent.pid, signal.SIGKILL)  # the agent dies without any cleanup
        await agent.wait()
    await wait_until(lambda: not processes_with(marker))  # --die-with-parent took the sandbox down
    ContainerCgroup.remove_leftover(container_id)  # what the next agent start does with leftovers


def memory_of_this_process(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith(f"{field}:"))


FLOOD = """
import sys

def main(lines):
    for number in range(lines):
        sys.stdout.write("line %08d %s\\n" % (number, "x" * 1000))
    return "flooded"
"""


async def test_s11_a_stdout_flood_is_capped_with_a_marker_and_the_agent_stays_small(
    start_container: StartContainer,
) -> None:
    logged: list[bytes] = []
    limits = Limits(output_bytes=64 * 1024, log_bytes=256 * 1024)
    container = await start_container(FLOOD, limits=limits, log_sink=lambda _stream, line: logged.append(line))
    Path("/proc/self/clear_refs").write_text("5")  # reset this process's peak RSS (VmHWM)
    before = memory_of_this_process("VmRSS")
    lines = 64 * 1024  # ~64 MiB of output
    assert result_of(await container.run(call(lines), timeout_s=120)) == "flooded"
    await container.shutdown()
    assert memory_of_this_process("VmHWM") - before < 32 * MiB  # buffering the flood would add 64 MiB
    kept = container.sandbox.output("stdout")
    assert len(kept) <= 64 * 1024 + 100
    assert kept.startswith(b"line 00000000")
    hidden = int(kept.split(b"[skiff: ")[1].split(b" bytes truncated]")[0])
    assert hidden > 60 * MiB
    assert kept.rstrip().endswith(b"line %08d " % (lines - 1) + b"x" * 1000)
    assert sum(len(line) + 1 for line in logged) <= 256 * 1024 + 1024
    assert logged[0].startswith(b"line 00000000")
    assert logged[-1].startswith(b"[skiff: log limit reached")
