"""`@app.cls` without a server: the marks, the checks at decoration time, the handles, and the bundle
(its generated module of methods, accepted by the API's own bundle check, served by the real runtime)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest

import skiff
from agent.runtime import BOOTSTRAP, classes, frames
from api.deployments.bundle import inspect_bundle
from skiff.cls import ENTER_MARK, EXIT_MARK, METHOD_MARK, Method
from skiff.deployments import manifest, package
from skiff.loader import load_app

AGENT_DIR = Path(__file__).resolve().parents[2] / "agent"


def test_the_marks_are_the_ones_the_runtime_reads() -> None:
    assert (ENTER_MARK, EXIT_MARK) == (classes.ENTER_MARK, classes.EXIT_MARK)


def test_the_decorators_work_bare_and_called() -> None:
    def hook(self: object) -> None:
        pass

    assert skiff.enter(hook) is hook
    assert skiff.exit()(hook) is hook
    assert skiff.method()(hook) is hook
    assert getattr(hook, ENTER_MARK) is getattr(hook, EXIT_MARK) is getattr(hook, METHOD_MARK) is True
    with pytest.raises(skiff.InvalidRequest, match=r"@skiff\.enter goes on a method defined with def"):
        skiff.enter(staticmethod(hook))  # type: ignore[arg-type]


class Model:
    loads = 0

    @skiff.enter
    def load(self) -> None:
        Model.loads += 1
        self.factor = 3

    @skiff.method
    def predict(self, x: int) -> int:
        return x * self.factor

    @skiff.method()
    async def embed(self, text: str) -> list[int]:
        return [len(text)]

    @skiff.exit
    def close(self) -> None:
        pass


def test_each_method_is_a_function_named_class_dash_method_with_the_class_options() -> None:
    app = skiff.App("models")
    cls = app.cls(memory=1024, timeout=30)(Model)
    assert isinstance(cls, skiff.Cls)
    assert sorted(app.registered_functions) == ["Model-embed", "Model-predict"]
    assert {f.options.memory for f in app.registered_functions.values()} == {1024}
    predict = cls().predict
    assert isinstance(predict, Method) and isinstance(predict, skiff.Function)
    assert (predict.app_name, predict.name, predict.class_name) == ("models", "Model-predict", "Model")
    obj = cls()
    assert (obj.predict.local(2), obj.predict.local(5), Model.loads) == (6, 15, 1)  # one instance per handle
    with pytest.raises(AttributeError, match=r"Model has no @skiff\.method 'train'; methods: embed, predict"):
        _ = cls().train
    with pytest.raises(skiff.InvalidRequest, match=r"Model\(\) takes no arguments"):
        cls("weights.bin")


def test_a_class_looked_up_by_name_reaches_its_methods_functions() -> None:
    predict = skiff.Cls.from_name("models", "Model")().predict
    assert (predict.app_name, predict.name) == ("models", "Model-predict")
    with pytest.raises(skiff.Error, match="looked up by name"):
        predict.local(1)
    with pytest.raises(skiff.InvalidRequest, match="class name 'Model-1' is invalid"):
        skiff.Cls.from_name("models", "Model-1")


class NoMethods:
    def predict(self) -> None:
        pass


class NeedsArguments:
    def __init__(self, path: str) -> None:
        self.path = path

    @skiff.method
    def predict(self) -> None:
        pass


class Base:
    @skiff.method
    def predict(self) -> None:
        pass


class Inherits(Base):
    pass


class HookWithArguments:
    @skiff.enter
    def load(self, path: str) -> None:
        pass

    @skiff.method
    def predict(self) -> None:
        pass


class Both:
    @skiff.method
    @skiff.enter
    def load(self) -> None:
        pass


class Borrowed:
    predict = skiff.method(lambda self: None)


class AVeryLongClassNameThatTogetherWithItsMethodNameIsTooLongForTheApi:
    @skiff.method
    def predict_with_a_long_name(self) -> None:
        pass


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (NoMethods, "class 'NoMethods' has no @skiff.method"),
        (NeedsArguments, r"NeedsArguments\(\) must be callable without arguments"),
        (Inherits, "@skiff.method 'predict' of Inherits is defined in its base class Base"),
        (HookWithArguments, "@skiff.enter HookWithArguments.load must be callable without arguments"),
        (Both, "Both.load is a @skiff.method and a lifecycle hook"),
        (Borrowed, "Borrowed.predict must be defined with def in the body of Borrowed"),
        (AVeryLongClassNameThatTogetherWithItsMethodNameIsTooLongForTheApi, "must fit in 64"),
        (Model.predict, "@app.cls goes on a class defined at the top level"),
    ],
)
def test_a_class_the_runtime_could_not_serve_is_refused_at_decoration(target: Any, message: str) -> None:
    with pytest.raises(skiff.InvalidRequest, match=message):
        skiff.App("models").cls()(target)


def test_class_options_and_names_are_checked_like_functions() -> None:
    with pytest.raises(skiff.InvalidRequest, match=r"functions.Model-\w+.memory: 64 is out of range"):
        skiff.App("models").cls(memory=64)(Model)
    app = skiff.App("models")
    app.cls()(Model)
    with pytest.raises(skiff.InvalidRequest, match=r"already has a function named 'Model-\w+'"):
        app.cls()(Model)


APP_SOURCE = """
import os

import skiff

app = skiff.App("{name}")


@app.function()
def ping() -> str:
    return "pong"


@app.cls(max_inputs=1)
class Counter:
    @skiff.enter()
    def open(self):
        self.enters = getattr(self, "enters", 0) + 1
        self.seen = 0

    @skiff.method
    def add(self, n):
        self.seen += n
        return {{"seen": self.seen, "enters": self.enters, "pid": os.getpid()}}

    @skiff.exit
    def close(self):
        print("closed after", self.seen, flush=True)
"""


def write_app(directory: Path) -> tuple[Path, str]:
    stem = f"counter_{uuid.uuid4().hex[:8]}"  # a module name of its own per test: the loader registers it
    path = directory / f"{stem}.py"
    path.write_text(textwrap.dedent(APP_SOURCE.format(name="counter")))
    return path, stem


def test_methods_are_bound_in_a_generated_module_that_the_api_accepts(tmp_path: Path) -> None:
    path, stem = write_app(tmp_path)
    app = load_app(path)
    document = manifest(app.registered_functions, tmp_path)
    assert document["functions"]["Counter-add"] == {"handler": "skiff_methods:Counter__add", "max_inputs": 1}
    assert document["functions"]["ping"]["handler"] == f"{stem}:ping"
    bundle = package(app.registered_functions, tmp_path)
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        assert tar.getnames() == ["skiff.toml", "skiff/__init__.py", f"{stem}.py", "skiff_methods.py"]
        generated = tar.extractfile("skiff_methods.py").read().decode()  # type: ignore[union-attr]
    assert generated.endswith(f"import {stem}\n\nCounter__add = {stem}.Counter.add\n")
    checked = inspect_bundle(io.BytesIO(bundle))  # the API's own bundle check: names, handlers, syntax
    assert sorted(checked.manifest.functions) == ["Counter-add", "ping"]
    assert checked.warnings == ()


def test_a_module_of_the_apps_own_named_like_the_generated_one_is_refused(tmp_path: Path) -> None:
    path, _ = write_app(tmp_path)
    (tmp_path / "skiff_methods.py").write_text("")
    with pytest.raises(skiff.InvalidRequest, match="has its own skiff_methods module; rename it"):
        package(load_app(path).registered_functions, tmp_path)


def test_the_bundle_runs_on_the_runtime_with_the_stub_one_instance_per_container(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path, _ = write_app(tmp_path)
    app = load_app(path)
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(fileobj=io.BytesIO(package(app.registered_functions, tmp_path))) as tar:
        tar.extractall(unpacked)
    handler = tomllib.loads((unpacked / "skiff.toml").read_text())["functions"]["Counter-add"]["handler"]
    to_runtime, to_write = os.pipe()
    from_read, from_runtime = os.pipe()
    argv = [sys.executable, "-I", "-S", "-c", BOOTSTRAP, str(AGENT_DIR), "runtime", "--bundle", str(unpacked)]
    argv += ["--handler", handler, "--in-fd", str(to_runtime), "--out-fd", str(from_runtime)]
    # -I -S and an empty environment: no SDK to import, as in a sandbox without a venv
    runtime = subprocess.Popen(argv, pass_fds=(to_runtime, from_runtime), stdout=subprocess.PIPE, env={})
    os.close(to_runtime)
    os.close(from_runtime)
    try:
        assert (frames.read_frame(from_read, 1 << 20) or ({}, b""))[0].get("type") == frames.READY
        results = []
        for n in (2, 3):
            frames.write_frame(to_write, {"type": frames.INPUT, "id": f"in-{n}"}, json.dumps({"args": [n]}).encode())
            frame = frames.read_frame(from_read, 1 << 20)
            assert frame is not None and frame[0]["status"] == "ok", frame
            results.append(json.loads(frame[1]))
        assert [(r["seen"], r["enters"]) for r in results] == [(2, 1), (5, 1)]
        frames.write_frame(to_write, {"type": frames.SHUTDOWN})
        stdout, _ = runtime.communicate(timeout=20)
        assert runtime.returncode == 0
        assert b"closed after 5" in stdout
    finally:
        if runtime.poll() is None:
            runtime.kill()
        os.close(to_write)
        os.close(from_read)
