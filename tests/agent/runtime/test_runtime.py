"""The in-sandbox runtime, run directly: ready, inputs, errors, setup, async concurrency, cancel."""

from __future__ import annotations

import datetime
import decimal
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

import cloudpickle
import pytest

from agent import runtime_files
from agent.runtime import frames
from tests.agent.runtime.conftest import RuntimeProcess, StartRuntime

ADD = """
calls = []

def setup():
    calls.append("setup")

def main(a, b=0):
    print("adding", a, b)
    return {"sum": a + b, "setups": len(calls), "pid": __import__("os").getpid()}
"""


def ready(runtime: RuntimeProcess) -> frames.Header:
    frame = runtime.receive()
    assert frame is not None
    assert frame[0]["type"] == frames.READY, frame
    return frame[0]


def test_a_sync_function_gets_ready_and_answers_with_json(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ADD)
    assert ready(runtime)["async"] is False
    header, payload = runtime.call("in-1", b'{"args": [2], "kwargs": {"b": 3}}')
    assert header == {"type": frames.OUTPUT, "id": "in-1", "status": "ok"}
    assert json.loads(payload)["sum"] == 5


def test_setup_runs_once_then_the_container_serves_several_inputs(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ADD, "fn:main", "--setup", "fn:setup")
    ready(runtime)
    results = [json.loads(runtime.call(f"in-{n}", b'{"args": [%d]}' % n)[1]) for n in range(3)]
    assert [r["sum"] for r in results] == [0, 1, 2]
    assert {r["setups"] for r in results} == {1}
    assert len({r["pid"] for r in results}) == 1


def test_user_prints_go_to_the_logs_and_never_corrupt_the_protocol(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(
        """
        import sys
        def main():
            print("hello from user code")
            sys.stdout.buffer.write(b"\\x00\\x00\\x00\\x10{not a frame}\\n" * 1000)
            print("to stderr", file=sys.stderr)
            return "done"
        """
    )
    ready(runtime)
    header, payload = runtime.call("in-1")
    assert (header["status"], payload) == ("ok", b'"done"')
    runtime.send({"type": frames.SHUTDOWN})
    assert runtime.process.wait(timeout=20) == 0
    assert b"hello from user code" in runtime.stdout()
    assert b"to stderr" in runtime.stdout()


def test_a_user_exception_shows_only_the_users_frames(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(
        """
        def main():
            parse("x")

        def parse(text):
            try:
                int(text)
            except ValueError as exc:
                raise RuntimeError("could not parse " + text) from exc
        """
    )
    ready(runtime)
    header, _ = runtime.call("in-1")
    error = header["error"]
    assert header["status"] == "error"
    assert (error["type"], error["message"]) == ("RuntimeError", "could not parse x")
    traceback = error["traceback"]
    assert "fn.py" in traceback and "in main" in traceback and "in parse" in traceback
    assert "invalid literal for int()" in traceback  # the cause is kept
    for runtime_file in ("serve.py", "handler.py", "__main__.py", "serve_async.py"):
        assert runtime_file not in traceback


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("{1, 2}", {1, 2}),
        ("{'at': __import__('datetime').date(2024, 5, 1)}", {"at": datetime.date(2024, 5, 1)}),
        ("__import__('decimal').Decimal('1.5')", decimal.Decimal("1.5")),
        ("b'bytes'", b"bytes"),
    ],
)
def test_a_result_json_cannot_carry_comes_back_pickled(
    start_runtime: StartRuntime, expression: str, value: object
) -> None:
    runtime = start_runtime(f"def main():\n    return {expression}\n")
    ready(runtime)
    header, payload = runtime.call("in-1")
    assert header == {"type": frames.OUTPUT, "id": "in-1", "status": "ok", "content_type": frames.CONTENT_PICKLE}
    assert pickle.loads(payload) == value


RETURNS = "def main(value):\n    return value\n"


@pytest.mark.parametrize(
    ("value", "pickled"),
    [
        ({"a": [1, 2.5, None, True, "x"]}, False),  # JSON's own types: JSON, for any caller
        ((1, 2), True),  # as a list, JSON would change its type
        ({1: "a"}, True),  # ... and its key
        ([[0]] * 2, True),  # ... and the sharing of the inner list
        (float("inf"), True),
    ],
)
def test_a_pickled_call_gets_its_result_back_with_the_same_types(
    start_runtime: StartRuntime, value: object, pickled: bool
) -> None:
    runtime = start_runtime(RETURNS)
    ready(runtime)
    runtime.send_input("in-1", pickle.dumps(((value,), {})), frames.CONTENT_PICKLE)
    frame = runtime.receive()
    assert frame is not None
    header, payload = frame
    assert header.get("content_type", frames.CONTENT_JSON) == (
        frames.CONTENT_PICKLE if pickled else frames.CONTENT_JSON
    )
    assert (pickle.loads(payload) if pickled else json.loads(payload)) == value


def test_a_json_call_gets_json_whenever_json_can_write_the_result(start_runtime: StartRuntime) -> None:
    runtime = start_runtime("def main():\n    return (1, 2)\n")
    ready(runtime)
    header, payload = runtime.call("in-1")
    assert "content_type" not in header and payload == b"[1,2]"  # as before: any caller reads it


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(i for i in [])", "result of type generator is not JSON-serialisable (Object of type generator is not"),
        ("__import__('functools').reduce(lambda a, _: [a], range(100000), [])", "result of type list is not"),
        ("__import__('threading').Lock()", "result of type lock is not JSON-serialisable"),
    ],
)
def test_a_result_neither_json_nor_picklable_is_a_clear_error(
    start_runtime: StartRuntime, expression: str, message: str
) -> None:
    runtime = start_runtime(f"def main():\n    return {expression}\n")
    ready(runtime)
    header, _ = runtime.call("in-1")
    assert header["error"]["type"] == "ResultNotSerialisable"
    assert header["error"]["message"].startswith(message)
    assert "cannot be pickled" in header["error"]["message"]


def test_a_result_over_the_limit_is_an_error_naming_the_limit(start_runtime: StartRuntime) -> None:
    source = "def main(big=False):\n    return {'x' * 5000} if big else 'x' * 5000\n"
    runtime = start_runtime(source, "fn:main", "--max-result-bytes", "1000")
    ready(runtime)
    header, _ = runtime.call("in-1")
    assert header["error"]["type"] == "ResultTooLarge"
    assert header["error"]["message"] == "result is 5002 bytes of JSON; the limit is 1000 bytes"
    header, _ = runtime.call("in-2", b'{"kwargs": {"big": true}}')
    assert header["error"]["type"] == "ResultTooLarge"
    assert re.fullmatch(r"result is \d+ bytes of pickle; the limit is 1000 bytes", header["error"]["message"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "input is not valid JSON"),
        (b"[1, 2]", 'input must be {"args": [...], "kwargs": {...}}'),
        (b'{"args": {"a": 1}}', "args must be a list and kwargs an object"),
    ],
)
def test_a_malformed_input_is_reported_and_the_runtime_keeps_serving(
    start_runtime: StartRuntime, body: bytes, message: str
) -> None:
    runtime = start_runtime(ADD)
    ready(runtime)
    header, _ = runtime.call("bad", body)
    assert header["error"]["type"] == "InvalidInput"
    assert header["error"]["message"].startswith(message)
    assert json.loads(runtime.call("good", b'{"args": [1, 1]}')[1])["sum"] == 2


def test_a_pickled_input_is_decoded_inside_the_runtime(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ADD)
    ready(runtime)
    runtime.send_input("in-1", pickle.dumps(((20,), {"b": 22}), protocol=4), frames.CONTENT_PICKLE)
    frame = runtime.receive()
    assert frame is not None
    assert json.loads(frame[1])["sum"] == 42


@pytest.fixture
def platform_packages(tmp_path: Path) -> Path:
    """A directory laid out as the agent binds its packages into a sandbox (`--packages`)."""
    packages = tmp_path / "packages"
    for package in runtime_files.platform_packages():
        shutil.copytree(package, packages / package.name)
    assert (packages / "cloudpickle").is_dir()
    return packages


AREA = """
import dataclasses

@dataclasses.dataclass
class Area:
    width: int
    height: int

    def size(self):
        return self.width * self.height
"""


def class_of_a_script() -> type:
    """A class as a caller's script defines it, in `__main__`: cloudpickle sends it by value, code and all."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(AREA, namespace)
    area: type = namespace["Area"]  # type: ignore[assignment]
    return area


# By-value pickles hold code objects, which only the same Python version reads: the runtime runs on the test's Python.
@pytest.mark.parametrize("python", [Path(sys.executable).resolve()], ids=["same-python"])
def test_with_the_platforms_cloudpickle_values_defined_by_the_caller_go_both_ways(
    start_runtime: StartRuntime, platform_packages: Path
) -> None:
    area = class_of_a_script()(3, 4)
    arguments = cloudpickle.dumps(((area,), {"scale": 2}))
    source = "def main(area, scale):\n    return {'size': area.size() * scale, 'area': area, 'scales': (scale,)}\n"
    runtime = start_runtime(source, "fn:main", "--packages", str(platform_packages))
    ready(runtime)
    runtime.send_input("in-1", arguments, frames.CONTENT_PICKLE)
    frame = runtime.receive()
    assert frame is not None and frame[0].get("content_type") == frames.CONTENT_PICKLE, frame
    result = cloudpickle.loads(frame[1])
    assert result["size"] == 24 and result["scales"] == (2,)
    assert (result["area"].width, result["area"].height, result["area"].size()) == (3, 4, 12)

    without = start_runtime(source)  # plain pickle cannot rebuild a class sent by value
    ready(without)
    without.send_input("in-1", arguments, frames.CONTENT_PICKLE)
    frame = without.receive()
    assert frame is not None
    assert frame[0]["error"]["type"] == "ModuleNotFoundError" and "cloudpickle" in frame[0]["error"]["message"]


def test_the_platforms_packages_are_searched_last(start_runtime: StartRuntime, platform_packages: Path) -> None:
    runtime = start_runtime(
        "import sys\ndef main():\n    return sys.path\n", "fn:main", "--packages", str(platform_packages)
    )
    ready(runtime)
    path = json.loads(runtime.call("in-1")[1])
    assert path[-1] == str(platform_packages) and path.count(str(platform_packages)) == 1


def test_sys_exit_in_the_function_is_an_error_not_the_end_of_the_container(start_runtime: StartRuntime) -> None:
    runtime = start_runtime("import sys\ndef main(code):\n    sys.exit(code)\n")
    ready(runtime)
    header, _ = runtime.call("in-1", b'{"args": [3]}')
    assert (header["error"]["type"], header["error"]["message"]) == ("SystemExit", "3")
    assert runtime.call("in-2", b'{"args": [4]}')[0]["error"]["message"] == "4"


def test_a_forked_child_that_returns_does_not_speak_for_the_runtime(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(
        """
        import os
        def main():
            child = os.fork()
            if child == 0:
                return "from the child"
            os.waitpid(child, 0)
            return "from the parent"
        """
    )
    ready(runtime)
    assert runtime.call("in-1")[1] == b'"from the parent"'
    assert runtime.call("in-2")[1] == b'"from the parent"'  # nothing stray was left in the pipe


@pytest.mark.parametrize(
    ("source", "handler", "error_type", "message"),
    [
        ("def main(): pass\n", "missing:main", "ModuleNotFoundError", "module 'missing' not found in bundle"),
        (
            "def main(): pass\ndef health(): pass\n",
            "fn:embed",
            "FunctionNotFound",
            "function 'embed' not found in module 'fn'; functions found: health, main",
        ),
        ("import not_installed\n", "fn:main", "ModuleNotFoundError", "No module named 'not_installed'"),
        ("raise KeyError('boom at import')\n", "fn:main", "KeyError", "'boom at import'"),
        ("def main(:\n", "fn:main", "SyntaxError", ""),
        ("def main(): pass\n", "fn", "InvalidHandler", "handler 'fn' must look like 'module:function'"),
    ],
)
def test_a_broken_bundle_fails_setup_with_a_message_to_act_on(
    start_runtime: StartRuntime, source: str, handler: str, error_type: str, message: str
) -> None:
    runtime = start_runtime(source, handler)
    frame = runtime.receive()
    assert frame is not None
    header, _ = frame
    assert header["type"] == frames.SETUP_FAILED
    assert header["error"]["type"] == error_type
    assert message in header["error"]["message"]
    assert "importlib" not in header["error"]["traceback"]
    assert runtime.process.wait(timeout=20) == 1


def test_an_import_time_exception_shows_the_users_line(start_runtime: StartRuntime) -> None:
    runtime = start_runtime("x = 1\nraise KeyError('boom at import')\n")
    frame = runtime.receive()
    assert frame is not None
    assert 'fn.py", line 2, in <module>' in frame[0]["error"]["traceback"]


def test_a_failing_setup_is_reported_with_its_traceback(start_runtime: StartRuntime) -> None:
    runtime = start_runtime("def setup():\n    1 / 0\ndef main():\n    pass\n", "fn:main", "--setup", "fn:setup")
    frame = runtime.receive()
    assert frame is not None
    assert frame[0]["type"] == frames.SETUP_FAILED
    assert frame[0]["error"]["type"] == "ZeroDivisionError"
    assert "in setup" in frame[0]["error"]["traceback"]


ASYNC_BARRIER = """
import asyncio

running = 0
most = 0
arrived = 0
everyone_here = None

async def setup():
    global everyone_here
    everyone_here = asyncio.Event()

async def main(group_size):
    global running, most, arrived
    running += 1
    most = max(most, running)
    arrived += 1
    if arrived % group_size == 0:
        everyone_here.set()
    # only inputs that really run together can meet here
    await asyncio.wait_for(everyone_here.wait(), 15)
    await asyncio.sleep(0.05)
    running -= 1
    return most

async def forever():
    await asyncio.sleep(3600)
"""


def test_an_async_function_runs_up_to_max_inputs_at_once(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ASYNC_BARRIER, "fn:main", "--setup", "fn:setup", "--max-inputs", "3")
    header = ready(runtime)
    assert (header["async"], header["max_inputs"]) == (True, 3)
    for n in range(6):
        runtime.send_input(f"in-{n}", b'{"args": [3]}')
    replies = [runtime.receive() for _ in range(6)]
    assert all(r is not None and r[0]["status"] == "ok" for r in replies), replies
    assert max(int(r[1]) for r in replies if r is not None) == 3  # never more than max_inputs


def test_a_cancelled_async_input_answers_cancelled_and_the_runtime_goes_on(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(ASYNC_BARRIER, "fn:forever", "--max-inputs", "2")
    ready(runtime)
    runtime.send_input("slow")
    runtime.send({"type": frames.CANCEL, "id": "slow"})
    assert runtime.receive() == ({"type": frames.OUTPUT, "id": "slow", "status": "cancelled"}, b"")
    runtime.send_input("slow-2")
    runtime.send({"type": frames.CANCEL, "id": "slow-2"})
    reply = runtime.receive()
    assert reply is not None and reply[0]["id"] == "slow-2"


def test_shutdown_and_a_closed_pipe_both_end_the_runtime_cleanly(start_runtime: StartRuntime) -> None:
    first = start_runtime(ADD)
    ready(first)
    first.send({"type": frames.SHUTDOWN})
    assert first.process.wait(timeout=20) == 0
    second = start_runtime(ASYNC_BARRIER, "fn:forever")
    ready(second)
    second.send_input("left-behind")
    os.close(second.to_runtime)  # the agent went away
    assert second.process.wait(timeout=20) == 0


def test_an_async_setup_runs_before_a_sync_function_is_ready(start_runtime: StartRuntime) -> None:
    runtime = start_runtime(
        "state = {}\nasync def setup():\n    state['ok'] = True\ndef main():\n    return state\n",
        "fn:main",
        "--setup",
        "fn:setup",
    )
    ready(runtime)
    assert runtime.call("in-1")[1] == b'{"ok":true}'
