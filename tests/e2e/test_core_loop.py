"""The product, end to end through real processes: deploy with HTTP, call sync and async, read
results, errors and logs; the agent runs each call in a bubblewrap sandbox and scales to zero."""

from __future__ import annotations

import base64
import contextlib
import time
from pathlib import Path

import httpx
import pytest
import redis

from agent.sandbox import users
from agent.sandbox.cgroups import cgroup_dirs
from api.calls.dispatch import container_wake_key
from api.settings import Settings
from tests.bundles import make_bundle
from tests.e2e.conftest import Platform, fetch, reported_warm, wait_until

SOURCE = """
import getpass, os, time

STATE = {"setups": 0}

def warm_up():
    STATE["setups"] += 1

def hello(name="world"):
    print(f"hello from the sandbox, {name}")
    return {"greeting": f"hello {name}", "setups": STATE["setups"], "pid": os.getpid()}

def fail():
    raise ValueError("bad input")

def slow(seconds):
    time.sleep(seconds)
    return seconds

def who():
    return [os.getuid(), getpass.getuser()]

def peek(path):
    try:
        with open(path) as f:
            return f.read()[:100]
    except OSError as exc:
        return type(exc).__name__
"""

MANIFEST = """
[functions.hello]
handler = "app:hello"
setup = "app:warm_up"
scaledown_window = 3

[functions.fail]
handler = "app:fail"

[functions.slow]
handler = "app:slow"
timeout = 2

[functions.peek]
handler = "app:peek"

[functions.who]
handler = "app:who"
scaledown_window = 3
"""


def deploy(http: httpx.Client, app: str, files: dict[str, str], manifest: str) -> dict[str, object]:
    response = http.post(f"/v1/apps/{app}/deployments", content=make_bundle(files, manifest))
    assert response.status_code in (200, 201), response.text
    body: dict[str, object] = response.json()
    return body


def call(http: httpx.Client, app: str, fn: str, *args: object, wait: int = 30) -> httpx.Response:
    return http.post(
        f"/v1/apps/{app}/functions/{fn}/calls", json={"args": list(args)}, headers={"Prefer": f"wait={wait}"}
    )


def sandbox_processes(marker: str) -> list[int]:
    """Processes whose command line mentions the container runtime of `marker`'s containers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"skiff_runtime" in cmdline and marker.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_deploy_and_call_sync_async_errors_logs(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        first = call(http, "e2e", "hello", "ada")
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["status"] == "succeeded" and body["result"]["greeting"] == "hello ada"
        assert body["cold_start"] is True and body["cold_start_ms"] > 0

        second = call(http, "e2e", "hello", "bob").json()
        assert second["result"]["setups"] == 1  # setup ran once; the warm container served both
        assert second["container_id"] == body["container_id"] and second["cold_start"] is False

        accepted = http.post("/v1/apps/e2e/functions/hello/calls", json={"args": ["cy"]})
        assert accepted.status_code == 202
        result = http.get(f"{accepted.headers['location']}/result", params={"wait": 30}).json()
        assert result["result"]["greeting"] == "hello cy"

        logs = http.get(f"/v1/calls/{body['id']}/logs", headers={"Accept": "text/plain"}).text
        assert "hello from the sandbox, ada" in logs

        failed = call(http, "e2e", "fail").json()
        assert failed["status"] == "failed" and failed["error"]["type"] == "ValueError"
        assert "bad input" in failed["error"]["message"] and "app.py" in failed["error"]["traceback"]
        assert "skiff_runtime" not in failed["error"]["traceback"]


def test_timeouts_kill_the_call(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        timed_out = call(http, "e2e", "slow", 30).json()
        assert timed_out["status"] == "timed_out", timed_out
        assert "timeout of 2 s" in timed_out["error"]["message"]
        again = call(http, "e2e", "slow", 0.1).json()  # a fresh container serves the next call
        assert again["status"] == "succeeded" and again["result"] == 0.1


def test_sandboxed_code_cannot_read_the_agents_secrets(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        for path in ("/etc/shadow", "/proc/1/environ", str(platform.state_dir / "agent-1.log")):
            result = call(http, "e2e", "peek", path).json()
            assert result["status"] == "succeeded", result
            assert result["result"] in ("FileNotFoundError", "PermissionError", ""), (path, result["result"])


def test_each_function_runs_as_its_own_unprivileged_host_user(platform: Platform) -> None:
    """The agent runs as root; its sandboxes do not: each function's processes belong to a host uid
    of the sandbox range, another function's to another, and inside both run as `skiff`."""
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        inside = call(http, "e2e", "who").json()["result"]
        assert call(http, "e2e", "hello", "uids").json()["status"] == "succeeded"
        host_uids = {}
        for marker in ("app:who", "app:hello"):
            pids = sandbox_processes(marker)
            assert pids, marker
            host_uids[marker] = {Path(f"/proc/{pid}").stat().st_uid for pid in pids}
    first = users.DEFAULT_FIRST_UID
    assert inside == [1000, "skiff"]
    for marker, uids in host_uids.items():
        assert len(uids) == 1 and first <= min(uids) < first + users.DEFAULT_UID_COUNT, (marker, uids)
    assert host_uids["app:who"] != host_uids["app:hello"]


def container_state(settings: Settings, container_id: str) -> tuple[str, bool]:
    """(its state, whether it is asleep), as the database has them."""
    [row] = fetch(
        settings, "SELECT state, asleep_since IS NOT NULL AS asleep FROM containers WHERE id = $1", container_id
    )
    return row["state"], row["asleep"]


def function_processes(marker: str) -> tuple[list[int], list[int]]:
    """(its zygotes, its containers' processes) on this host: the runtime's processes of `marker`
    without bwrap's, a zygote being one whose parent is not one of them."""
    pythons = set()
    for pid in sandbox_processes(marker):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() != "bwrap":
                pythons.add(pid)
    parents = {}
    for pid in pythons:
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    zygotes = sorted(p for p in pythons if p in parents and parents[p] not in pythons and b"zygote" in _cmdline(p))
    return zygotes, sorted(pythons - set(zygotes))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_idle_containers_scale_to_zero(platform: Platform, settings: Settings) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        container = call(http, "e2e", "hello", "zero").json()["container_id"]
        assert sandbox_processes("app:hello")
        # scaledown_window 3 s, then the zygote's idle 3 s (tests/e2e/conftest.py), then the scheduler's
        # tick after the node reports it gone
        assert wait_until(lambda: not sandbox_processes("app:hello"), 3 + 3 + 15)
        assert wait_until(lambda: container_state(settings, container)[0] == "exited", 10)
        after = call(http, "e2e", "hello", "again").json()
        assert after["status"] == "succeeded" and after["container_id"] != container and after["cold_start"]


SLEEPY_SOURCE = (
    SOURCE
    + """
async def ahello(name="world"):
    return hello(name)
"""
)

SLEEPY_MANIFEST = """
[functions.hello]
handler = "sleepy:hello"
setup = "sleepy:warm_up"
scaledown_window = 2

[functions.ahello]
handler = "sleepy:ahello"
setup = "sleepy:warm_up"
scaledown_window = 2
max_inputs = 2
"""


@pytest.mark.parametrize("fn", ["hello", "ahello"])  # one slot; two slots, one of which hears the sleep
def test_the_last_container_sleeps_and_its_next_call_forks_it_from_the_warm_zygote(
    platform: Platform, settings: Settings, fn: str
) -> None:
    marker = f"sleepy:{fn}"
    with platform.http() as http:
        deploy(http, "sleepy", {"sleepy.py": SLEEPY_SOURCE}, SLEEPY_MANIFEST)
        first = call(http, "sleepy", fn, "a").json()
        container = first["container_id"]
        assert first["status"] == "succeeded" and first["cold_start"]

        # Past its window its process exits; the zygote stays, and so does the container, asleep.
        assert wait_until(lambda: function_processes(marker) != ([], []) and not function_processes(marker)[1], 2 + 10)
        zygotes, running = function_processes(marker)
        assert len(zygotes) == 1 and running == []
        assert container_state(settings, container) == ("ready", True)
        # The cgroup of its next process is made already, empty, off the wake's path.
        assert wait_until(lambda: all(d.is_dir() for d in cgroup_dirs(container)), 5)
        assert all((d / "cgroup.procs").read_text() == "" for d in cgroup_dirs(container))

        woken = call(http, "sleepy", fn, "b").json()
        assert woken["status"] == "succeeded" and woken["container_id"] == container
        assert woken["cold_start"] is True and woken["cold_start_ms"] > 0  # it waited for a new process
        assert woken["result"]["pid"] != first["result"]["pid"] and woken["result"]["setups"] == 1
        zygotes_now, running = function_processes(marker)
        assert zygotes_now == zygotes and len(running) == 1 and running[0] not in zygotes  # forked from it
        assert container_state(settings, container) == ("ready", False)

        warm = call(http, "sleepy", fn, "c").json()
        assert warm["cold_start"] is False and warm["result"]["pid"] == woken["result"]["pid"]

        # Asleep again, then the zygote's idle window: nothing runs and the container is gone.
        assert wait_until(lambda: function_processes(marker) == ([], []), 2 + 3 + 10)
        assert wait_until(lambda: container_state(settings, container)[0] == "exited", 10)
        assert wait_until(lambda: not any(d.exists() for d in cgroup_dirs(container)), 5)  # nor its cgroup


NAPPER_SOURCE = """
import asyncio, os

async def nap(seconds):
    await asyncio.sleep(seconds)
    return os.getpid()
"""

# Two slots, and a window long enough that the scheduler leaves the container awake through the test.
NAPPER_MANIFEST = '[functions.nap]\nhandler = "{module}:nap"\nmax_inputs = 2\nscaledown_window = 15\n'


def mark_asleep_while_running(http: httpx.Client, settings: Settings, app: str) -> tuple[str, str, int, list[int]]:
    """Stages the race the scheduler's own mark refuses: the container is marked asleep while one slot
    runs an input (as when that input's call ended elsewhere and it is still ending here), and its
    other slot is woken to hear it. Returns the running call's location, the container, the pid its
    calls see, and its process on this host."""
    deploy(http, app, {f"{app}.py": NAPPER_SOURCE}, NAPPER_MANIFEST.format(module=app))
    first = call(http, app, "nap", 0).json()
    container, pid = first["container_id"], first["result"]
    # Only a container whose zygote its node reports warm may stay asleep: the scheduler stops any other.
    assert wait_until(lambda: reported_warm(settings, container), 15)
    _, process = function_processes(f"{app}:nap")
    running = http.post(f"/v1/apps/{app}/functions/nap/calls", json={"args": [3]}).headers["location"]
    assert wait_until(lambda: http.get(running).json()["status"] == "running", 10)
    fetch(settings, "UPDATE containers SET asleep_since = now() WHERE id = $1", container)
    with redis.Redis.from_url(settings.redis_url) as wake:
        wake.lpush(container_wake_key(container), "1")
    time.sleep(0.5)  # the idle slot hears it; the input runs on
    assert len(process) == 1 and function_processes(f"{app}:nap")[1] == process
    return running, container, pid, process


def test_a_container_marked_asleep_while_it_runs_an_input_sleeps_once_the_input_ends(
    platform: Platform, settings: Settings
) -> None:
    with platform.http() as http:
        running, container, pid, _ = mark_asleep_while_running(http, settings, "napper")
        ended = http.get(f"{running}/result", params={"wait": 30}).json()
        assert ended["status"] == "succeeded" and ended["result"] == pid  # not cut short
        assert wait_until(lambda: function_processes("napper:nap")[1] == [], 3)
        assert len(function_processes("napper:nap")[0]) == 1  # only the zygote
        assert container_state(settings, container) == ("ready", True)

        woken = call(http, "napper", "nap", 0).json()
        assert woken["container_id"] == container and woken["cold_start"] is True and woken["result"] != pid


def test_an_input_that_comes_before_a_deferred_sleep_keeps_the_container_awake(
    platform: Platform, settings: Settings
) -> None:
    with platform.http() as http:
        running, container, pid, process = mark_asleep_while_running(http, settings, "kept")
        came = call(http, "kept", "nap", 0).json()  # its claim clears the mark, so the sleep is off
        assert came["container_id"] == container and came["cold_start"] is False and came["result"] == pid
        assert container_state(settings, container) == ("ready", False)
        ended = http.get(f"{running}/result", params={"wait": 30}).json()
        assert ended["status"] == "succeeded" and ended["result"] == pid
        time.sleep(1.5)  # a sleep left pending would end the process at once
        assert function_processes("kept:nap")[1] == process
        assert call(http, "kept", "nap", 0).json()["result"] == pid


def test_the_agent_is_shielded_from_the_oom_killer_and_its_sandboxes_are_not(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "e2e", {"app.py": SOURCE}, MANIFEST)
        assert call(http, "e2e", "hello", "oom").json()["status"] == "succeeded"
        agent_score = Path(f"/proc/{platform.agent.pid}/oom_score_adj").read_text().strip()
        if may_lower_oom_score():
            assert agent_score == "-1000"
        else:  # this machine withholds CAP_SYS_RESOURCE even from root: the agent says so
            assert agent_score == "0" and "cannot shield the agent from the OOM killer" in platform.agent.output()
        sandboxes = sandbox_processes("app:hello")
        assert sandboxes
        assert {Path(f"/proc/{pid}/oom_score_adj").read_text().strip() for pid in sandboxes} == {"500"}


def may_lower_oom_score() -> bool:
    """Whether this machine lets root lower an OOM score (it needs CAP_SYS_RESOURCE)."""
    own = Path("/proc/self/oom_score_adj")
    before = own.read_text().strip()
    try:
        own.write_text(str(int(before) - 1))
    except OSError:
        return False
    own.write_text(before)
    return True


def test_a_result_near_the_result_limit_comes_back_whole(platform: Platform) -> None:
    """Results up to max_result_bytes (4 MiB) travel from the agent over its input channel, though
    other JSON bodies stop at 1 MiB; as JSON text and as a pickle (base64)."""
    source = "def big(n):\n    return 'x' * n\n\ndef blob(n):\n    return b'\\x00' * n\n"
    manifest = '[functions.big]\nhandler = "app:big"\n\n[functions.blob]\nhandler = "app:blob"\n'
    size = 3 << 20
    with platform.http() as http:
        deploy(http, "big-results", {"app.py": source}, manifest)
        text = call(http, "big-results", "big", size).json()
        assert text["status"] == "succeeded" and text["result"] == "x" * size, text.get("error")
        raw = call(http, "big-results", "blob", size).json()
        assert raw["status"] == "succeeded" and raw["result_type"] == "application/vnd.skiff.pickle", raw.get("error")
        assert len(base64.b64decode(raw["result_b64"])) > size
