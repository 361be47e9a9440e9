"""The container lifecycle through a real sandbox: ready, inputs, errors, concurrency, cancel, timeout."""

from __future__ import annotations

import asyncio
import json
import pickle
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import cloudpickle
import pytest

from agent.container import Container, ContainerSpec, ContainerStartError, Input, OutcomeStatus
from agent.runtime import frames
from agent.sandbox.cgroups import cgroup_dirs
from agent.sandbox.interface import ExitKind
from tests.agent.sandbox.conftest import SYSTEM_PYTHON, StartContainer, call, result_of

REPO = Path(__file__).resolve().parents[3]
PYTHON_39 = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")


async def test_cold_start_spawn_to_ready_to_first_result(make_bundle: Callable[[str], Path]) -> None:
    """Prints the figures (run with -s); a measurement, not a timed assertion."""
    bundle = make_bundle("def main():\n    return None\n")
    readies, firsts = [], []
    for _ in range(6):
        spec = ContainerSpec(f"cold-{uuid.uuid4().hex[:12]}", bundle, "fn:main", python=SYSTEM_PYTHON)
        container = Container(spec)
        begun = time.perf_counter()
        await container.start()
        ready = time.perf_counter()
        assert result_of(await container.run(call())) is None
        readies.append(ready - begun)
        firsts.append(time.perf_counter() - begun)
        await container.shutdown()
    readies, firsts = readies[1:], firsts[1:]  # the first start also compiles the runtime's .pyc
    print(
        f"\ncold start (bwrap + {SYSTEM_PYTHON}, no-op function, median of {len(firsts)}): "
        f"spawn->ready {statistics.median(readies) * 1000:.1f} ms, "
        f"spawn->first result {statistics.median(firsts) * 1000:.1f} ms"
    )


async def test_setup_runs_once_and_one_container_serves_several_inputs(start_container: StartContainer) -> None:
    source = """
    import os
    setups = []

    def setup():
        setups.append(1)

    def main(n):
        return {"n": n * 2, "setups": len(setups), "pid": os.getpid()}
    """
    container = await start_container(source, setup="fn:setup")
    results = [result_of(await container.run(call(n))) for n in range(4)]
    assert [r["n"] for r in results] == [0, 2, 4, 6]
    assert {r["setups"] for r in results} == {1}
    assert len({r["pid"] for r in results}) == 1


async def test_a_user_exception_is_an_error_with_only_the_users_frames(start_container: StartContainer) -> None:
    container = await start_container("def main():\n    helper()\n\ndef helper():\n    raise ValueError('bad input')\n")
    outcome = await container.run(call())
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert (outcome.error.type, outcome.error.message) == ("ValueError", "bad input")
    assert 'File "/app/fn.py", line 2, in main' in outcome.error.traceback
    assert 'File "/app/fn.py", line 5, in helper' in outcome.error.traceback
    assert "skiff_runtime" not in outcome.error.traceback
    assert container.exit_status is None  # the container goes on serving
    assert (await container.run(call())).error is not None


async def test_a_result_json_cannot_carry_comes_back_pickled_and_one_pickle_cannot_is_an_error(
    start_container: StartContainer,
) -> None:
    container = await start_container("def main(kind):\n    return {1, 2, 3} if kind == 'set' else (i for i in [])\n")
    outcome = await container.run(call("set"))
    assert outcome.status is OutcomeStatus.SUCCEEDED and outcome.result_type == frames.CONTENT_PICKLE
    assert outcome.result is not None and pickle.loads(outcome.result) == {1, 2, 3}
    outcome = await container.run(call("generator"))
    assert outcome.error is not None
    assert outcome.error.message.startswith("result of type generator is not JSON-serialisable")


async def test_a_pickled_input_reaches_the_function_unopened_by_the_agent(start_container: StartContainer) -> None:
    container = await start_container("def main(a, b):\n    return a * b\n")
    payload = pickle.dumps(((6,), {"b": 7}))
    assert result_of(await container.run(Input("p1", payload, frames.CONTENT_PICKLE))) == 42


async def test_the_sandbox_reads_cloudpickle_with_the_agents_own_copy(start_container: StartContainer) -> None:
    container = await start_container("def main(function, value):\n    return function(value)\n")
    payload = cloudpickle.dumps(((lambda x: (x, x + 1), 41), {}))  # a lambda travels by value: cloudpickle only
    outcome = await container.run(Input("p1", payload, frames.CONTENT_PICKLE))
    assert outcome.result_type == frames.CONTENT_PICKLE, outcome  # a pickled call's tuple stays a tuple
    assert outcome.result is not None and cloudpickle.loads(outcome.result) == (41, 42)


CONCURRENT = """
import asyncio

running = most = arrived = 0
together = None

async def main(group):
    global running, most, arrived, together
    together = together or asyncio.Event()
    running += 1
    most = max(most, running)
    arrived += 1
    if arrived % group == 0:
        together.set()
    await asyncio.wait_for(together.wait(), 20)  # only inputs that run at the same time meet here
    await asyncio.sleep(0.05)
    running -= 1
    return most

async def sleepy(seconds):
    await asyncio.sleep(seconds)
    return "woke up"
"""


async def test_an_async_function_serves_max_inputs_at_once(start_container: StartContainer) -> None:
    container = await start_container(CONCURRENT, max_inputs=3)
    assert (container.is_async, container.max_inputs) == (True, 3)
    outcomes = await asyncio.gather(*(container.run(call(3), timeout_s=60) for _ in range(7)))
    assert max(result_of(o) for o in outcomes) == 3


async def test_an_async_input_that_times_out_is_cancelled_and_the_container_lives_on(
    start_container: StartContainer,
) -> None:
    container = await start_container(CONCURRENT, "fn:sleepy", max_inputs=2)
    outcome = await container.run(call(3600), timeout_s=0.5)
    assert outcome.status is OutcomeStatus.TIMED_OUT and outcome.container_exit is None
    assert result_of(await container.run(call(0))) == "woke up"


async def test_cancelling_a_running_async_input_leaves_the_container_serving(start_container: StartContainer) -> None:
    container = await start_container(CONCURRENT, "fn:sleepy", max_inputs=2)
    item = call(3600)
    running = asyncio.ensure_future(container.run(item))
    await asyncio.sleep(0.3)
    await container.cancel(item.id)
    outcome = await running
    assert outcome.status is OutcomeStatus.CANCELLED and container.exit_status is None
    assert result_of(await container.run(call(0))) == "woke up"


SLEEPER = "import time\ndef main(seconds):\n    time.sleep(seconds)\n    return 'slept'\n"


async def test_cancelling_a_running_sync_input_kills_its_container(start_container: StartContainer) -> None:
    container = await start_container(SLEEPER)
    first, queued = call(3600), call(0)
    running = asyncio.ensure_future(container.run(first))
    waiting = asyncio.ensure_future(container.run(queued))
    await asyncio.sleep(0.3)
    await container.cancel(queued.id)  # not started yet: only it is dropped
    assert (await waiting).status is OutcomeStatus.CANCELLED
    assert not running.done() and container.exit_status is None
    await container.cancel(first.id)
    outcome = await running
    assert outcome.status is OutcomeStatus.CANCELLED
    final = container.sandbox.exit_status  # (container.exit_status is narrowed to None above)
    assert final is not None and final.kind is ExitKind.CANCELLED


async def test_a_sync_input_that_times_out_kills_its_container(start_container: StartContainer) -> None:
    container = await start_container(SLEEPER)
    outcome = await container.run(call(3600), timeout_s=0.5)
    assert outcome.status is OutcomeStatus.TIMED_OUT
    assert outcome.container_exit is not None and outcome.container_exit.reason == "timed out (limit 0.5 s)"


@pytest.mark.parametrize(
    ("body", "reason", "error_type"),
    [
        ("import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)", "killed by SIGSEGV", "ContainerCrashed"),
        ("import os\n    os._exit(3)", "exit code 3", "ContainerExited"),
    ],
)
async def test_a_crash_fails_the_input_with_the_reason(
    start_container: StartContainer, body: str, reason: str, error_type: str
) -> None:
    container = await start_container(f"def main():\n    {body}\n")
    outcome = await container.run(call())
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert outcome.error.type == error_type
    assert outcome.error.message == f"the container exited while running the input: {reason}"
    assert outcome.container_exit is not None and outcome.container_exit.reason == reason


async def test_a_failing_setup_never_gets_ready(start_container: StartContainer) -> None:
    with pytest.raises(ContainerStartError) as failure:
        await start_container(
            "def setup():\n    raise OSError('no model file')\ndef main():\n    pass\n", setup="fn:setup"
        )
    assert failure.value.error is not None and failure.value.error.type == "OSError"
    assert "setup failed: no model file" in str(failure.value)
    assert 'File "/app/fn.py", line 2, in setup' in failure.value.error.traceback


async def test_an_unknown_function_is_named_with_the_ones_that_exist(start_container: StartContainer) -> None:
    with pytest.raises(ContainerStartError) as failure:
        await start_container("def encode(): pass\ndef health(): pass\n", "fn:embed")
    assert failure.value.error is not None
    assert failure.value.error.message == "function 'embed' not found in module 'fn'; functions found: encode, health"


async def test_prints_reach_the_log_sink_line_by_line(start_container: StartContainer) -> None:
    lines: list[tuple[str, bytes]] = []
    source = "import sys\ndef main():\n    print('to stdout')\n    print('to stderr', file=sys.stderr)\n"
    container = await start_container(source, log_sink=lambda stream, line: lines.append((stream, line)))
    await container.run(call())
    await container.shutdown()
    assert ("stdout", b"to stdout") in lines and ("stderr", b"to stderr") in lines


async def test_a_function_environment_venv_is_usable_and_the_host_repo_is_not(
    start_container: StartContainer,
) -> None:
    venv = REPO / ".venv"
    if not (venv / "pyvenv.cfg").exists():
        pytest.skip("no venv to use as a function environment")
    source = "import os, msgspec\ndef main(repo):\n    return [msgspec.__name__, os.path.exists(repo + '/api')]\n"
    container = await start_container(source, venv=venv)
    assert result_of(await container.run(call(str(REPO)))) == ["msgspec", False]


async def test_the_runtime_runs_on_an_older_python_outside_usr(start_container: StartContainer) -> None:
    if not PYTHON_39.exists():
        pytest.skip("no Python 3.9 on this machine")
    container = await start_container(
        "import sys\ndef main():\n    return list(sys.version_info[:2])\n", python=PYTHON_39
    )
    assert result_of(await container.run(call())) == [3, 9]


async def test_the_sandbox_can_run_as_an_unprivileged_host_user(start_container: StartContainer) -> None:
    bundle = Path(tempfile.mkdtemp(prefix="skiff-bundle-"))  # readable by nobody, unlike pytest's tmp_path
    try:
        bundle.chmod(0o755)
        (bundle / "fn.py").write_text("import getpass, os\ndef main():\n    return [os.getuid(), getpass.getuser()]\n")
        (bundle / "fn.py").chmod(0o644)
        container = await start_container("", bundle_dir=bundle, run_as_uid=65534)
        assert result_of(await container.run(call())) == [1000, "skiff"]  # inside, the same user whoever runs it
        pids = container.sandbox.pids()
        assert pids and all(Path(f"/proc/{pid}").stat().st_uid == 65534 for pid in pids)
    finally:
        for path in sorted(bundle.rglob("*"), reverse=True):
            path.unlink()
        bundle.rmdir()


async def test_results_are_passed_through_as_json_bytes(start_container: StartContainer) -> None:
    container = await start_container("def main(x):\n    return {'echo': x, 'text': 'héllo'}\n")
    outcome = await container.run(call([1, None, True]))
    assert outcome.result is not None
    assert json.loads(outcome.result) == {"echo": [1, None, True], "text": "héllo"}


async def test_a_sandbox_that_cannot_start_says_why_and_leaves_no_cgroup(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bundle"
    container = Container(ContainerSpec(f"test-{uuid.uuid4().hex[:12]}", missing, "fn:main", python=SYSTEM_PYTHON))
    with pytest.raises(ContainerStartError, match=r"cannot bind \S*/no-such-bundle at /app: it does not exist"):
        await container.start()
    assert [d for d in cgroup_dirs(container.spec.container_id) if d.exists()] == []
    assert (await container.kill("cleanup")).reason == "killed (the sandbox failed to start)"


async def test_a_container_that_dies_while_importing_reports_the_reason(start_container: StartContainer) -> None:
    with pytest.raises(ContainerStartError) as failure:
        await start_container("import os\nprint('about to leave')\nos._exit(3)\n")
    assert failure.value.exit_status is not None and failure.value.exit_status.reason == "exit code 3"
    assert "container exited before it was ready: exit code 3" in str(failure.value)


async def test_a_container_that_is_never_ready_is_killed(start_container: StartContainer) -> None:
    with pytest.raises(ContainerStartError, match="not ready after 1 s") as failure:
        await start_container("import time\ntime.sleep(3600)\n", ready_timeout_s=1.0)
    assert failure.value.exit_status is not None and failure.value.exit_status.kind is ExitKind.KILLED


async def test_an_input_over_the_limit_is_refused_before_it_is_sent(start_container: StartContainer) -> None:
    container = await start_container("def main(x):\n    return len(x)\n", max_input_bytes=1000)
    outcome = await container.run(call("x" * 2000))
    assert outcome.error is not None and outcome.error.type == "InputTooLarge"
    assert result_of(await container.run(call("x" * 10))) == 10  # the container is untouched
