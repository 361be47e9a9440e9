"""`@app.cls` and `skiff run` against real processes: a class's methods called like functions on one
instance per container, and a run that deploys, calls, streams logs, prints the result and cleans up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

import skiff
from skiff.loader import load_app
from tests.e2e.conftest import Platform

SKIFF = Path(sys.executable).parent / "skiff"

CLASS_SOURCE = """
import os

import skiff

app = skiff.App("{name}")
entered = []  # per process: a container's own record of its enter hooks


@app.cls(timeout=60, max_containers=1)
class Counter:
    @skiff.enter
    def open(self):
        entered.append(os.getpid())
        self.total = 0

    @skiff.method
    def add(self, n):
        self.total += n
        return {{"total": self.total, "enters": len(entered), "pid": os.getpid()}}

    @skiff.exit
    def close(self):
        print("closing after", self.total, flush=True)
"""

RUN_SOURCE = """
import skiff

app = skiff.App("{name}")


@app.function(timeout=30)
def square(x):
    print(f"squaring {{x}}", flush=True)
    return x * x


@app.function(timeout=30)
def fail(reason):
    raise ValueError(reason)


@app.cls(timeout=30)
class Model:
    @skiff.enter
    def load(self):
        self.factor = 10

    @skiff.method
    def predict(self, x):
        print(f"predicting {{x}}", flush=True)
        return x * self.factor
"""


def write_module(directory: Path, prefix: str, source: str, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{prefix}_{uuid.uuid4().hex[:8]}.py"  # a module name of its own: the loader registers it
    path.write_text(textwrap.dedent(source.format(name=name)))
    return path


def cli(platform: Platform, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKIFF_URL": platform.url, "SKIFF_TOKEN": platform.tenant.token}
    return subprocess.run([SKIFF, *argv], capture_output=True, text=True, env=env, timeout=180, check=False)


@pytest.fixture(autouse=True)
def sdk_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIFF_URL", platform.url)
    monkeypatch.setenv("SKIFF_TOKEN", platform.tenant.token)


def test_a_class_serves_its_methods_on_one_instance_per_container(tmp_path: Path) -> None:
    name = f"cls-{uuid.uuid4().hex[:6]}"
    app = load_app(write_module(tmp_path, "counter", CLASS_SOURCE, name))
    deployment = app.deploy()
    assert sorted(deployment.functions) == ["Counter-add"]
    counter = vars(sys.modules[Path(app.source_file or "").stem])["Counter"]
    assert isinstance(counter, skiff.Cls)

    first = counter().add.remote(2)
    second = counter().add.spawn(3).get(timeout=60)
    assert (first["total"], second["total"]) == (2, 5)  # the same instance: its state carried over
    assert first["enters"] == second["enters"] == 1  # the enter hook ran once in this container
    assert first["pid"] == second["pid"]
    assert [r["total"] for r in counter().add.map([1, 1])] == [6, 7]
    looked_up = skiff.Cls.from_name(name, "Counter")().add.remote(0)
    assert (looked_up["enters"], looked_up["pid"]) == (1, first["pid"])


def test_skiff_run_deploys_calls_streams_logs_prints_the_result_and_cleans_up(
    platform: Platform, tmp_path: Path
) -> None:
    name = f"run-{uuid.uuid4().hex[:6]}"
    path = write_module(tmp_path, "runner", RUN_SOURCE, name)

    ran = cli(platform, "run", f"{path}::square", "--args", "[7]")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == 49
    assert f"deployed app {name}-run version 1 for this run" in ran.stderr
    assert "squaring 7" in ran.stderr  # the call's log, streamed while it ran
    assert f"stopped app {name}-run" in ran.stderr
    with pytest.raises(skiff.NotFound, match="is stopped"):
        skiff.Function.from_name(f"{name}-run", "square").remote(2)  # nothing of the run is left to call
    with pytest.raises(skiff.NotFound):
        skiff.Function.lookup(name, "square")  # the app's own name was never deployed

    method = cli(platform, "run", f"{path}::Model.predict", "--args", "[4]", "--json")
    assert method.returncode == 0, method.stderr
    call = json.loads(method.stdout)
    assert (call["app"], call["function"], call["version"]) == (f"{name}-run", "Model-predict", 1)
    assert (call["status"], call["result"]) == ("succeeded", 40)
    assert "predicting 4" in method.stderr

    failed = cli(platform, "run", f"{path}::fail", "--kwargs", '{"reason": "boom"}')
    assert failed.returncode == 1
    assert "raise ValueError(reason)" in failed.stderr  # the remote traceback
    assert "ValueError: boom" in failed.stderr
    assert f"stopped app {name}-run" in failed.stderr
