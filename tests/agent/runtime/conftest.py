"""Run the in-sandbox runtime directly (no bwrap) and talk to it over its two pipes."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.runtime import BOOTSTRAP, frames

AGENT_DIR = Path(__file__).resolve().parents[3] / "agent"
# the runtime must work on any Python >= 3.9: test the oldest one the machine has too
PYTHONS = [p for p in (Path("/usr/bin/python3"), Path("/root/.pyenv/versions/3.9.18/bin/python3.9")) if p.exists()]


@dataclass
class RuntimeProcess:
    process: subprocess.Popen[bytes]
    to_runtime: int
    from_runtime: int
    stdout_path: Path

    def send(self, header: frames.Header, payload: bytes = b"") -> None:
        frames.write_frame(self.to_runtime, header, payload)

    def send_input(self, input_id: str, body: bytes = b"{}", content_type: str = frames.CONTENT_JSON) -> None:
        self.send({"type": frames.INPUT, "id": input_id, "content_type": content_type}, body)

    def receive(self, timeout: float = 20.0) -> frames.Frame | None:
        readable, _, _ = select.select([self.from_runtime], [], [], timeout)
        assert readable, f"no frame from the runtime within {timeout} s"
        return frames.read_frame(self.from_runtime, 1 << 30)

    def call(self, input_id: str, body: bytes = b"{}") -> frames.Frame:
        self.send_input(input_id, body)
        frame = self.receive()
        assert frame is not None
        return frame

    def stdout(self) -> bytes:
        return self.stdout_path.read_bytes()


StartRuntime = Callable[..., RuntimeProcess]


@pytest.fixture(params=PYTHONS, ids=lambda p: p.name)
def python(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture
def start_runtime(tmp_path: Path, python: Path) -> Iterator[StartRuntime]:
    started: list[RuntimeProcess] = []

    def start(source: str, handler: str = "fn:main", *options: str) -> RuntimeProcess:
        bundle = tmp_path / f"bundle{len(started)}"
        bundle.mkdir()
        (bundle / "fn.py").write_text(textwrap.dedent(source))
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        stdout_path = bundle.with_suffix(".out")
        with stdout_path.open("wb") as out:
            # package "runtime" from agent/: a top-level package, as skiff_runtime is in the sandbox
            argv = [str(python), "-I", "-S", "-c", BOOTSTRAP, str(AGENT_DIR), "runtime"]
            argv += ["--bundle", str(bundle), "--handler", handler, "--in-fd", str(to_r), "--out-fd", str(from_w)]
            process = subprocess.Popen(
                [*argv, *options], pass_fds=(to_r, from_w), stdout=out, stderr=subprocess.STDOUT, env={}
            )
        os.close(to_r)
        os.close(from_w)
        runtime = RuntimeProcess(process, to_w, from_r, stdout_path)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        if runtime.process.poll() is None:
            runtime.process.kill()
        runtime.process.wait()
        for fd in (runtime.to_runtime, runtime.from_runtime):
            with contextlib.suppress(OSError):  # a test may have closed it to signal EOF
                os.close(fd)
