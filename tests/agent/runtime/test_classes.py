"""A handler that is a method of a class: one instance per container, enter hooks before the first
input, exit hooks when the input loop ends (shutdown, the agent gone, SIGTERM), within a bound."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from agent.runtime import classes, frames
from tests.agent.runtime.conftest import RuntimeProcess, StartRuntime

# Marked by hand: the runtime knows the markers, not the SDK that sets them.
MODEL = """
import os

def enter(f):
    f.__skiff_enter__ = True
    return f

def exit_hook(f):
    f.__skiff_exit__ = True
    return f

class Base:
    @enter
    def connect(self):
        self.steps = ["connect"]

class Model(Base):
    def __init__(self):
        self.made_at = os.getpid()

    @enter
    def load(self):
        self.steps.append("load")
        self.weights = 2

    def predict(self, x):
        self.steps.append("predict")
        return {"y": x * self.weights, "steps": self.steps, "instance": id(self)}

    @exit_hook
    def close(self):
        print("closing after", len(self.steps), "steps", flush=True)

predict = Model.predict  # a top-level alias, as the SDK's generated module binds one
"""


def ready(runtime: RuntimeProcess) -> frames.Header:
    frame = runtime.receive()
    assert frame is not None
    assert frame[0]["type"] == frames.READY, frame
    return frame[0]


@pytest.mark.parametrize("handler", ["fn:Model.predict", "fn:predict"])
def test_a_method_is_served_on_one_instance_made_once_with_its_enter_hooks(
    start_runtime: StartRuntime, handler: str
) -> None:
    runtime = start_runtime(MODEL, handler)
    ready(runtime)
    first = json.loads(runtime.call("in-1", b'{"args": [3]}')[1])
    second = json.loads(runtime.call("in-2", b'{"args": [5]}')[1])
    assert (first["y"], second["y"]) == (6, 10)
    assert second["steps"] == ["connect", "load", "predict", "predict"]  # base class's hooks first
    assert first["instance"] == second["instance"]
    runtime.send({"type": frames.SHUTDOWN})
    assert runtime.process.wait(timeout=20) == 0
    assert b"closing after 4 steps" in runtime.stdout()


def test_exit_hooks_run_when_the_agent_goes_away(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(MODEL, "fn:Model.predict")
    ready(runtime)
    runtime.call("in-1", b'{"args": [1]}')
    os.close(runtime.to_runtime)
    assert runtime.process.wait(timeout=20) == 0
    assert b"closing after 3 steps" in runtime.stdout()


def test_sigterm_runs_the_exit_hooks_then_ends_the_container_as_sigterm(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(MODEL, "fn:Model.predict")
    ready(runtime)
    runtime.call("in-1", b'{"args": [1]}')
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.process.wait(timeout=20) == -signal.SIGTERM
    assert b"closing after 3 steps" in runtime.stdout()


def test_a_raising_enter_hook_fails_setup_with_its_traceback(start_runtime: StartRuntime) -> None:
    source = MODEL.replace("self.weights = 2", "raise RuntimeError('no weights')")
    runtime = start_runtime(source, "fn:Model.predict")
    frame = runtime.receive()
    assert frame is not None
    assert frame[0]["type"] == frames.SETUP_FAILED
    assert (frame[0]["error"]["type"], frame[0]["error"]["message"]) == ("RuntimeError", "no weights")
    assert "in load" in frame[0]["error"]["traceback"]
    assert "classes.py" not in frame[0]["error"]["traceback"]
    assert runtime.process.wait(timeout=20) == 1
    assert b"closing" not in runtime.stdout()  # an instance that never entered does not exit


def test_an_exit_hook_that_overruns_is_cut_short(start_runtime: StartRuntime) -> None:
    source = MODEL.replace('print("closing after"', 'import time; time.sleep(60); print("closing after"')
    runtime = start_runtime(source, "fn:Model.predict")
    ready(runtime)
    runtime.send({"type": frames.SHUTDOWN})
    started = time.monotonic()
    assert runtime.process.wait(timeout=30) == 0
    assert time.monotonic() - started < classes.EXIT_SECONDS + 5
    assert b"exit hook Model.close" in runtime.stdout()
    assert b"ran past the exit hooks' 4 s" in runtime.stdout()


def test_a_raising_exit_hook_is_logged_and_the_next_one_still_runs(start_runtime: StartRuntime) -> None:
    flush = "    @exit_hook\n    def flush(self):\n        print('flushed', flush=True)\n\npredict ="
    source = MODEL.replace("predict =", flush)
    source = source.replace('print("closing after"', "raise ValueError('disk gone'); print(\"closing after\"")
    runtime = start_runtime(source, "fn:Model.predict")
    ready(runtime)
    runtime.send({"type": frames.SHUTDOWN})
    assert runtime.process.wait(timeout=20) == 0
    assert b"exit hook Model.close: ValueError: disk gone" in runtime.stdout()
    assert b"flushed" in runtime.stdout()


ASYNC_MODEL = """
import asyncio

def enter(f):
    f.__skiff_enter__ = True
    return f

def exit_hook(f):
    f.__skiff_exit__ = True
    return f

class Model:
    enters = 0

    @enter
    async def open(self):
        Model.enters += 1
        self.lock = asyncio.Lock()
        self.arrived = asyncio.Event()
        self.count = 0

    async def predict(self, group):
        self.count += 1
        if self.count >= group:
            self.arrived.set()
        await asyncio.wait_for(self.arrived.wait(), 15)  # only inputs that run together meet here
        return {"enters": Model.enters, "count": self.count}

    @exit_hook
    async def close(self):
        await asyncio.sleep(0)
        print("async close after", self.count, flush=True)
"""


def test_an_async_method_runs_concurrently_on_one_instance_with_async_hooks(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ASYNC_MODEL, "fn:Model.predict", "--max-inputs", "3")
    header = ready(runtime)
    assert (header["async"], header["max_inputs"]) == (True, 3)
    for n in range(3):
        runtime.send_input(f"in-{n}", b'{"args": [3]}')
    replies = [runtime.receive() for _ in range(3)]
    results = [json.loads(r[1]) for r in replies if r is not None and r[0]["status"] == "ok"]
    assert [r["enters"] for r in results] == [1, 1, 1], replies
    runtime.send({"type": frames.SHUTDOWN})
    assert runtime.process.wait(timeout=20) == 0
    assert b"async close after 3" in runtime.stdout()


def test_an_async_method_runs_its_exit_hooks_on_sigterm(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ASYNC_MODEL, "fn:Model.predict")
    ready(runtime)
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.process.wait(timeout=20) == -signal.SIGTERM
    assert b"async close after 0" in runtime.stdout()


def test_a_static_method_borrowed_as_a_handler_is_a_plain_function(start_runtime: StartRuntime) -> None:
    source = "class Tools:\n    @staticmethod\n    def double(x):\n        return 2 * x\n\ndouble = Tools.double\n"
    runtime = start_runtime(source, "fn:double")
    ready(runtime)
    assert runtime.call("in-1", b'{"args": [4]}')[1] == b"8"
