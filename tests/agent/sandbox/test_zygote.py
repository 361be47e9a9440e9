"""Containers forked from a zygote, through real sandboxes, cgroups and processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.container import Container, ContainerSpec, ContainerStartError, OutcomeStatus
from agent.gpu_driver import LIBCUDA, driver_libraries, library_path
from agent.sandbox.bwrap import BwrapSandbox
from agent.sandbox.cgroups import cgroup_dirs
from agent.sandbox.forked import ForkedSandbox
from agent.sandbox.interface import ExitKind, Limits, LogSink, MiB
from agent.sandbox.rootfs import FIXED_ENV
from agent.zygote import Zygote
from agent.zygote_pool import ZygotePool
from tests.agent.sandbox.conftest import SYSTEM_PYTHON, call, processes_with, result_of, wait_until

PYTHON_39 = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")

PROBE = """
import os, sys, time

IMPORTED = {"pid": os.getpid(), "preloaded": "fractions" in sys.modules}
setups = []

def setup():
    cgroup = open("/proc/self/cgroup").read()
    setups.append({"pid": os.getpid(), "cgroup": cgroup, "preloaded": "fractions" in sys.modules})

def main(action="probe", arg=None):
    if action == "sleep":
        time.sleep(arg)
    elif action == "hoard":
        kept = []
        while True:
            kept.append(b"x" * (8 << 20))
    elif action == "daemon":
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sh", ["/bin/sh", "-c", "trap '' TERM INT HUP; while :; do sleep 1; done", arg])
            os._exit(0)
        os.wait()
    return {"n": arg, "pid": os.getpid(), "setups": setups, "imported": IMPORTED}
"""


class Forks:
    """Starts containers through one pool; the module name doubles as a marker in every cmdline."""

    def __init__(self, pool: ZygotePool, bundle: Path, module: str) -> None:
        self.pool = pool
        self.bundle = bundle
        self.module = module
        self.key = f"fn-{uuid.uuid4().hex[:8]}"
        self.started: list[Container] = []

    def spec(self, setup: str | None = None, **options: Any) -> ContainerSpec:
        options.setdefault("python", SYSTEM_PYTHON)
        options.setdefault("zygote", True)
        container_id = f"test-{uuid.uuid4().hex[:12]}"
        handler, setup = f"{self.module}:main", f"{self.module}:{setup}" if setup else None
        return ContainerSpec(container_id, self.bundle, handler, setup=setup, **options)

    async def start(self, log_sink: LogSink | None = None, **options: Any) -> Container:
        container = await self.pool.start_container(self.key, self.spec(**options), log_sink)
        self.started.append(container)
        return container

    def zygote(self, **options: Any) -> Zygote:
        zygote = self.pool.zygote(self.key, self.spec(**options))
        assert zygote is not None
        return zygote


MakeForks = Callable[..., Awaitable[Forks]]


@pytest.fixture
async def make_forks(tmp_path: Path) -> AsyncIterator[MakeForks]:
    made: list[Forks] = []

    async def make(source: str = PROBE, idle_s: float = 300.0, fresh_while_warming: bool = False) -> Forks:
        """Unless asked otherwise, the first start waits for the zygote: most tests here are about forks."""
        module = f"m{uuid.uuid4().hex[:12]}"
        bundle = tmp_path / module
        bundle.mkdir()
        (bundle / f"{module}.py").write_text(textwrap.dedent(source))
        forks = Forks(ZygotePool(idle_s=idle_s, fresh_while_warming=fresh_while_warming), bundle, module)
        made.append(forks)
        return forks

    yield make
    for forks in made:
        for container in forks.started:
            if container.exit_status is None:
                await container.kill("the test is over")
        await forks.pool.close()
        assert processes_with(forks.module) == []


async def test_one_zygote_forks_many_containers_and_each_runs_setup_once(make_forks: MakeForks) -> None:
    forks = await make_forks()
    containers = list(await asyncio.gather(*(forks.start(setup="setup") for _ in range(3))))
    containers.append(await forks.start(setup="setup"))
    zygote = forks.zygote(setup="setup")
    assert zygote.forks == 4  # the concurrent first starts shared one zygote
    seen = []
    for container in containers:
        assert isinstance(container.sandbox, ForkedSandbox)
        first = result_of(await container.run(call("probe", 1)))
        second = result_of(await container.run(call("probe", 2)))
        assert (first["n"], second["n"]) == (1, 2)
        assert len(second["setups"]) == 1  # setup ran once, in the container, not in the zygote
        assert second["setups"][0]["pid"] == second["pid"]
        assert container.spec.container_id in second["setups"][0]["cgroup"]  # moved before user code ran
        seen.append(second)
    assert len({s["pid"] for s in seen}) == 4
    assert len({s["imported"]["pid"] for s in seen}) == 1  # the module was imported once, by the zygote
    assert seen[0]["imported"]["pid"] not in {s["pid"] for s in seen}
    for container in containers:
        assert (await container.shutdown()).kind is ExitKind.EXITED
    assert zygote.alive and forks.pool.zygote(forks.key, forks.spec(setup="setup")) is zygote


async def test_the_first_container_starts_fresh_while_its_zygote_warms(make_forks: MakeForks) -> None:
    forks = await make_forks(fresh_while_warming=True)
    first = await forks.start()
    assert isinstance(first.sandbox, BwrapSandbox)  # it did not wait for the zygote
    await wait_until(lambda: forks.pool.zygote(forks.key, forks.spec()) is not None)
    second = await forks.start()
    assert isinstance(second.sandbox, ForkedSandbox)
    assert forks.zygote().forks == 1
    first_result = result_of(await first.run(call("probe", 1)))
    second_result = result_of(await second.run(call("probe", 1)))
    assert first_result["imported"]["pid"] == first_result["pid"]  # imported its module itself
    assert second_result["imported"]["pid"] != second_result["pid"]  # its zygote imported it


DRAWS = """
import random
import numpy.random

def main():
    return [random.random(), numpy.random.draw()]
"""

# A stand-in for numpy's legacy global generator (numpy is not installed here): state drawn at
# import, `seed()` with no argument draws fresh entropy, as numpy.random.seed does.
STAND_IN_NUMPY_RANDOM = """
import os

_state = [int.from_bytes(os.urandom(8), "big")]

def seed(value=None):
    _state[0] = int.from_bytes(os.urandom(8), "big") if value is None else value

def draw():
    return _state[0]
"""


async def test_forked_containers_draw_different_random_numbers(make_forks: MakeForks) -> None:
    forks = await make_forks(DRAWS)
    package = forks.bundle / "numpy" / "random"
    package.mkdir(parents=True)
    (forks.bundle / "numpy" / "__init__.py").write_text("")
    (package / "__init__.py").write_text(STAND_IN_NUMPY_RANDOM)
    first, second = await forks.start(preload=("numpy.random",)), await forks.start(preload=("numpy.random",))
    assert isinstance(first.sandbox, ForkedSandbox) and isinstance(second.sandbox, ForkedSandbox)
    drawn = [result_of(await c.run(call())) for c in (first, second)]
    assert drawn[0][0] != drawn[1][0]  # Python's random reseeds itself after a fork
    assert drawn[0][1] != drawn[1][1]  # numpy's global generator is reseeded by the runtime


async def test_preload_modules_are_imported_by_the_zygote_before_the_function(make_forks: MakeForks) -> None:
    forks = await make_forks()
    preloaded = await forks.start(setup="setup", preload=("fractions",))
    plain = await forks.start(setup="setup")  # another preload list: another zygote
    with_preload, without = result_of(await preloaded.run(call())), result_of(await plain.run(call()))
    assert with_preload["imported"]["preloaded"] is True and with_preload["setups"][0]["preloaded"] is True
    assert without["imported"]["preloaded"] is False and without["setups"][0]["preloaded"] is False


ENVIRONMENT = """
import ctypes, os

def main():
    getenv = ctypes.CDLL(None).getenv
    getenv.restype = ctypes.c_char_p
    return {"environ": dict(os.environ), "c_getenv": (getenv(b"CUDA_VISIBLE_DEVICES") or b"").decode()}
"""


async def test_each_child_gets_its_own_environment_before_user_code(make_forks: MakeForks) -> None:
    forks = await make_forks(ENVIRONMENT)
    first = await forks.start(env={"MODEL": "small", "CUDA_VISIBLE_DEVICES": "GPU-aaaa"})
    second = await forks.start(env={"MODEL": "small", "CUDA_VISIBLE_DEVICES": "GPU-bbbb"})
    assert forks.zygote(env={"MODEL": "small"}).forks == 2  # the GPU variable does not split zygotes
    for container, gpu in ((first, "GPU-aaaa"), (second, "GPU-bbbb")):
        found = result_of(await container.run(call()))
        assert found["environ"]["CUDA_VISIBLE_DEVICES"] == gpu
        assert found["c_getenv"] == gpu  # what cuInit would read
        assert set(found["environ"]) == set(FIXED_ENV) | {"MODEL", "CUDA_VISIBLE_DEVICES", "PWD"}  # as fresh
    other = await forks.start(env={"MODEL": "large"})  # other declared env or secrets: another zygote
    assert result_of(await other.run(call()))["environ"]["MODEL"] == "large"
    assert forks.zygote(env={"MODEL": "large"}) is not forks.zygote(env={"MODEL": "small"})


CHANNELS = """
import os, sys

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__

def main():
    print("to my own log")
    print("and my own stderr", file=sys.stderr)
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[int(fd)] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            pass  # listdir's own fd, closed already
    zygote = "/proc/%d/" % os.getppid()
    return {
        "fds": fds,
        "zygote_fd": attempt(lambda: open(zygote + "fd/0", "rb").close()),
        "zygote_mem": attempt(lambda: open(zygote + "mem", "rb").close()),
        "own_mem": attempt(lambda: open("/proc/self/mem", "rb").close()),
    }
"""


async def test_a_child_holds_only_its_own_pipes_and_prints_to_its_own_log(make_forks: MakeForks) -> None:
    forks = await make_forks(CHANNELS)
    lines: dict[str, list[tuple[str, bytes]]] = {"a": [], "b": []}
    first = await forks.start(log_sink=lambda stream, line: lines["a"].append((stream, line)))
    second = await forks.start(log_sink=lambda stream, line: lines["b"].append((stream, line)))
    for container in (first, second):
        found = result_of(await container.run(call()))
        fds = {int(fd): target for fd, target in found["fds"].items()}
        assert fds[0] == "/dev/null"
        # the zygote is not dumpable: a child cannot reach a sibling's pipes or memory through it
        assert (found["zygote_fd"], found["zygote_mem"]) == ("PermissionError", "PermissionError")
        assert found["own_mem"] == "allowed"  # the child itself is dumpable again, as in a fresh sandbox
        others = {fd: target for fd, target in fds.items() if fd > 2}
        assert len(others) == 2 and all(t.startswith("pipe:") for t in others.values())  # in and out only
        assert not any(t.startswith("socket:") for t in fds.values())  # nothing of the zygote's channel
        await container.shutdown()
    for name in ("a", "b"):
        assert sorted(lines[name]) == [("stderr", b"and my own stderr"), ("stdout", b"to my own log")]


async def test_a_timeout_a_cancel_or_a_kill_ends_only_that_container(make_forks: MakeForks) -> None:
    forks = await make_forks()
    sibling = await forks.start()
    zygote = forks.zygote()
    timed_out = await forks.start()
    outcome = await timed_out.run(call("sleep", 3600), timeout_s=0.5)
    assert outcome.status is OutcomeStatus.TIMED_OUT
    assert outcome.container_exit is not None and outcome.container_exit.reason == "timed out (limit 0.5 s)"
    cancelled = await forks.start()
    item = call("sleep", 3600)
    running = asyncio.ensure_future(cancelled.run(item))
    await wait_until(lambda: cancelled.running_inputs)
    await cancelled.cancel(item.id)
    assert (await running).status is OutcomeStatus.CANCELLED
    marker = f"skiff-test-{uuid.uuid4().hex}"
    killed = await forks.start()
    assert result_of(await killed.run(call("daemon", marker)))["n"] == marker
    await wait_until(lambda: processes_with(marker))
    assert set(processes_with(marker)) <= set(killed.sandbox.pids())  # the daemon is in its cgroup
    dirs = cgroup_dirs(killed.spec.container_id)
    assert (await killed.kill("lease lost")).reason == "killed (lease lost)"
    assert processes_with(marker) == []
    assert [d for d in dirs if d.exists()] == []
    assert zygote.forks == 4 and zygote.alive and zygote.pid in zygote.pids()
    assert result_of(await sibling.run(call("probe", 7)))["n"] == 7
    assert result_of(await (await forks.start()).run(call("probe", 8)))["n"] == 8
    assert forks.zygote() is zygote


async def test_an_oom_ends_only_that_container(make_forks: MakeForks) -> None:
    forks = await make_forks()
    limits = Limits(memory_bytes=128 * MiB)
    sibling = await forks.start(limits=limits)
    hoarder = await forks.start(limits=limits)
    outcome = await hoarder.run(call("hoard"), timeout_s=60)
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert outcome.error.type == "OutOfMemory"
    assert hoarder.exit_status is not None and hoarder.exit_status.reason == "out of memory (limit 128 MiB)"
    assert forks.zygote(limits=limits).forks == 2 and forks.zygote(limits=limits).alive
    assert result_of(await sibling.run(call("probe", 1)))["n"] == 1


async def test_an_idle_zygote_is_reclaimed_and_leaves_nothing_behind(make_forks: MakeForks) -> None:
    forks = await make_forks(idle_s=0.5)
    container = await forks.start()
    zygote = forks.zygote()
    zygote_dirs = cgroup_dirs(zygote.id)
    await asyncio.sleep(1.5)  # three idle windows: a zygote with a live child is never idle
    assert zygote.alive and result_of(await container.run(call("probe", 1)))["n"] == 1
    await container.shutdown()
    await wait_until(lambda: forks.pool.zygote(forks.key, forks.spec()) is None)
    await wait_until(lambda: not processes_with(forks.module))  # no zygote, no bwrap, no child
    await wait_until(lambda: not [d for d in zygote_dirs if d.exists()])
    assert forks.pool.warm_keys() == set()
    again = await forks.start()  # the next container starts a new zygote
    assert result_of(await again.run(call("probe", 2)))["n"] == 2
    assert forks.zygote() is not zygote


async def test_a_zygote_is_not_idle_while_its_first_container_started_fresh_runs(make_forks: MakeForks) -> None:
    forks = await make_forks(idle_s=0.5, fresh_while_warming=True)
    first = await forks.start()
    assert isinstance(first.sandbox, BwrapSandbox)
    await wait_until(lambda: forks.pool.zygote(forks.key, forks.spec()) is not None)
    zygote = forks.zygote()
    await asyncio.sleep(1.5)  # three idle windows with no fork yet, but its function's container runs
    assert zygote.alive
    await first.shutdown()
    second = await forks.start()  # the function's next container, within the window: forked
    assert isinstance(second.sandbox, ForkedSandbox) and forks.zygote() is zygote
    await second.shutdown()
    await wait_until(lambda: forks.pool.zygote(forks.key, forks.spec()) is None)  # then idle, reclaimed


async def test_a_crashed_zygote_ends_its_children_and_the_next_start_replaces_it(make_forks: MakeForks) -> None:
    forks = await make_forks()
    orphan = await forks.start()
    crashed = forks.zygote()
    assert crashed.pid is not None
    os.kill(crashed.pid, signal.SIGKILL)
    status = await orphan.wait()
    assert status.reason == "killed (its zygote exited)"
    assert not crashed.alive
    replacement = await forks.start()
    assert result_of(await replacement.run(call("probe", 3)))["n"] == 3
    assert forks.zygote() is not crashed


async def test_without_zygote_each_container_gets_a_fresh_sandbox(make_forks: MakeForks) -> None:
    source = "import os, sys\ndef main():\n    return [sorted(os.listdir('/proc')), 'fractions' in sys.modules]\n"
    forks = await make_forks(source)
    container = await forks.start(zygote=False, preload=("fractions",))
    assert isinstance(container.sandbox, BwrapSandbox)
    proc, preloaded = result_of(await container.run(call()))
    assert [p for p in proc if p.isdigit()] == ["1", "2"] and preloaded is False
    assert forks.pool.zygote(forks.key, forks.spec(preload=("fractions",))) is None


async def test_a_module_that_fails_to_import_fails_the_start_with_the_users_error(make_forks: MakeForks) -> None:
    forks = await make_forks("import os\n\ndef main():\n    pass\n\nraise RuntimeError('no config')\n")
    with pytest.raises(ContainerStartError) as failure:
        await forks.start()
    assert failure.value.error is not None and failure.value.error.type == "RuntimeError"
    assert failure.value.error.message == "no config"
    assert f"/app/{forks.module}.py" in failure.value.error.traceback
    missing = forks.spec(preload=("no_such_module",))
    with pytest.raises(ContainerStartError, match="preload module 'no_such_module' not found"):
        await forks.pool.start_container(forks.key, missing)
    assert processes_with(forks.module) == []


async def test_a_module_that_starts_threads_at_import_gets_fresh_sandboxes(make_forks: MakeForks) -> None:
    source = "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
    forks = await make_forks(source + "def main():\n    return 'served'\n")
    container = await forks.start()
    assert isinstance(container.sandbox, BwrapSandbox)  # forking a threaded parent is unsafe
    assert result_of(await container.run(call())) == "served"


ASYNC = """
import asyncio

async def main(n):
    await asyncio.sleep(0.05)
    return n
"""


async def test_an_async_function_forks_and_serves_inputs_concurrently(make_forks: MakeForks) -> None:
    forks = await make_forks(ASYNC)
    container = await forks.start(max_inputs=4)
    assert (container.is_async, container.max_inputs) == (True, 4)
    outcomes = await asyncio.gather(*(container.run(call(n), timeout_s=60) for n in range(6)))
    assert [result_of(o) for o in outcomes] == list(range(6))


async def test_the_zygote_runs_on_an_older_python_outside_usr(make_forks: MakeForks) -> None:
    if not PYTHON_39.exists():
        pytest.skip("no Python 3.9 on this machine")
    forks = await make_forks("import sys\ndef main():\n    return list(sys.version_info[:2])\n")
    first, second = await forks.start(python=PYTHON_39), await forks.start(python=PYTHON_39)
    assert isinstance(first.sandbox, ForkedSandbox) and forks.zygote(python=PYTHON_39).forks == 2
    assert result_of(await first.run(call())) == result_of(await second.run(call())) == [3, 9]


async def test_a_forked_container_sees_the_devices_of_its_zygote(make_forks: MakeForks, tmp_path: Path) -> None:
    device = tmp_path / "nvidia-fake0"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a character device: /dev/null's numbers
    forks = await make_forks("import os\ndef main(path):\n    return os.path.exists(path)\n")
    container = await forks.start(devices=(device,))
    assert result_of(await container.run(call(str(device)))) is True
    plain = await forks.start()  # no devices: another zygote, which does not see it
    assert result_of(await plain.run(call(str(device)))) is False


async def test_a_gpu_container_loads_the_driver_from_where_the_node_keeps_it(
    make_forks: MakeForks, open_tmp: Path
) -> None:
    """A sandbox has no /etc/ld.so.cache: a driver kept outside the loader's system directories loads
    only with what the agent adds for GPU containers. A copy of zlib stands in for libcuda.so.1."""
    driver = open_tmp / "nvidia" / "lib64"
    driver.mkdir(parents=True)
    zlib = library_path("libz.so.1")
    assert zlib is not None
    shutil.copy(zlib, driver / LIBCUDA)
    libraries = driver_libraries(driver)
    assert libraries is not None and not libraries.searched and not libraries.visible
    forks = await make_forks(
        "import ctypes\ndef main(name):\n    try:\n        ctypes.CDLL(name)\n"
        "    except OSError as exc:\n        return str(exc)\n    return 'loaded'\n"
    )
    plain = await forks.start()
    assert "cannot open shared object file" in result_of(await plain.run(call(LIBCUDA)))
    added: dict[str, Any] = {"env": libraries.env({}), "extra_ro_binds": libraries.binds()}
    forked, fresh = await forks.start(**added), await forks.start(zygote=False, **added)
    assert isinstance(forked.sandbox, ForkedSandbox) and not isinstance(fresh.sandbox, ForkedSandbox)
    for container in (forked, fresh):
        assert result_of(await container.run(call(LIBCUDA))) == "loaded"
