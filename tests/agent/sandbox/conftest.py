"""Real bubblewrap containers for the sandbox tests: no mocks, real processes and cgroups."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.container import Container, ContainerNotReady, ContainerSpec, Input, Outcome, OutcomeStatus
from agent.sandbox.bwrap import BWRAP, BwrapSandbox

SYSTEM_PYTHON = Path("/usr/bin/python3")

StartContainer = Callable[..., Awaitable[Container]]


@pytest.fixture(autouse=True)
def _needs_bwrap_as_root() -> None:
    if shutil.which(BWRAP) is None or os.geteuid() != 0:
        pytest.skip("the sandbox tests need bubblewrap and root (cgroupfs)")


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[[str], Path]:
    def make(source: str) -> Path:
        bundle = tmp_path / f"bundle-{uuid.uuid4().hex[:8]}"
        bundle.mkdir()
        (bundle / "fn.py").write_text(textwrap.dedent(source))
        return bundle

    return make


@pytest.fixture
async def start_container(make_bundle: Callable[[str], Path]) -> AsyncIterator[StartContainer]:
    started: list[Container] = []

    async def start(source: str, handler: str = "fn:main", **options: Any) -> Container:
        log_sink = options.pop("log_sink", None)
        ready_timeout_s = options.pop("ready_timeout_s", 60.0)
        bundle = options.pop("bundle_dir", None) or make_bundle(source)
        options.setdefault("python", SYSTEM_PYTHON)
        spec = ContainerSpec(
            container_id=f"test-{uuid.uuid4().hex[:12]}", bundle_dir=bundle, handler=handler, **options
        )
        container = Container(spec, log_sink=log_sink)
        started.append(container)
        await container.start(ready_timeout_s)
        return container

    yield start
    for container in started:
        with contextlib.suppress(ContainerNotReady):
            await container.kill("the test is over")


def call(*args: Any, input_id: str | None = None, **kwargs: Any) -> Input:
    body = json.dumps({"args": list(args), "kwargs": kwargs}).encode()
    return Input(input_id or f"in-{uuid.uuid4().hex[:8]}", body)


def result_of(outcome: Outcome) -> Any:
    assert outcome.status is OutcomeStatus.SUCCEEDED, outcome
    assert outcome.result is not None
    return json.loads(outcome.result)


def cgroup_dirs(container: Container) -> list[Path]:
    sandbox = container.sandbox
    assert isinstance(sandbox, BwrapSandbox) and sandbox.cgroup is not None
    return list(sandbox.cgroup.dirs)


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line mentions the marker (never kill or find by name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


async def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
