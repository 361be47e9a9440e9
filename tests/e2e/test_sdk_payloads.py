"""Python values that JSON cannot carry, through real processes: the SDK pickles them, the sandbox
unpickles them, a result JSON cannot carry comes back pickled and the SDK unpickles it. JSON calls,
from the SDK or from any HTTP client, stay JSON."""

from __future__ import annotations

import importlib
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import skiff
from skiff.loader import load_app
from tests.e2e.conftest import Platform

PICKLE = "application/vnd.skiff.pickle"

APP_SOURCE = '''
import dataclasses
import enum

import skiff

app = skiff.App("{name}")


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Vector:
    """A plain class of the app's module."""

    def __init__(self, *parts):
        self.parts = parts

    def __eq__(self, other):
        return isinstance(other, Vector) and self.parts == other.parts

    def __repr__(self):
        return f"Vector{{self.parts}}"


@app.function(timeout=30)
def translate(point: Point, by: tuple) -> Point:
    assert isinstance(point, Point) and isinstance(by, tuple)
    return Point(point.x + by[0], point.y + by[1])


@app.function(timeout=30)
def describe(value, *more, **named):
    """What it got, with the type each value arrived as."""
    return type(value).__name__, value, tuple(type(m).__name__ for m in more), sorted(named)


@app.function(timeout=30)
def union(*parts) -> set:
    return set().union(*parts)


@app.function(timeout=30)
def scale(vector: Vector, by: int) -> Vector:
    return Vector(*(p * by for p in vector.parts))


@app.function(timeout=30)
def apply(function, *args):
    return function(*args)
'''

SCRIPT = """
class Celsius:
    def __init__(self, degrees):
        self.degrees = degrees

    def fahrenheit(self):
        return self.degrees * 9 / 5 + 32
"""


@pytest.fixture(autouse=True)
def sdk_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIFF_URL", platform.url)
    monkeypatch.setenv("SKIFF_TOKEN", platform.tenant.token)


@pytest.fixture(scope="module")
def app_module(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app's module, as the caller imports it, deployed with `app.deploy()`."""
    name = f"values-{uuid.uuid4().hex[:6]}"
    directory = tmp_path_factory.mktemp("values-app")
    path = directory / f"values_{uuid.uuid4().hex[:8]}.py"  # a module name of its own
    path.write_text(textwrap.dedent(APP_SOURCE.format(name=name)))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SKIFF_URL", platform.url)
        env.setenv("SKIFF_TOKEN", platform.tenant.token)
        app = load_app(path)
        assert app.deploy().version == 1
    yield importlib.import_module(path.stem)  # load_app registered it: pickles name its classes by reference
    sys.modules.pop(path.stem, None)


def test_remote_takes_and_returns_a_dataclass_and_a_tuple(app_module: Any) -> None:
    moved = app_module.translate.remote(app_module.Point(1.0, 2.0), by=(0.5, 1.0))
    assert moved == app_module.Point(1.5, 3.0) and isinstance(moved, app_module.Point)
    kind, value, more, named = app_module.describe.remote((1, 2), {3}, app_module.Color.RED, key=b"\x00")
    assert (kind, value, more, named) == ("tuple", (1, 2), ("set", "Color"), ["key"])


def test_spawn_then_get_returns_a_set_and_a_custom_class(app_module: Any) -> None:
    call = app_module.union.spawn({1, 2}, frozenset({2, 3}))
    assert call.get(timeout=60) == {1, 2, 3}
    assert skiff.FunctionCall.from_id(call.id).get() == {1, 2, 3}  # another handle unpickles it too
    scaled = app_module.scale.spawn(app_module.Vector(1, 2), 3).get(timeout=60)
    assert scaled == app_module.Vector(3, 6) and type(scaled) is app_module.Vector


def test_map_sends_values_json_cannot_carry_and_keeps_their_order(app_module: Any) -> None:
    inputs = [(1, 2), {1: "int key"}, app_module.Color.BLUE, app_module.Vector(7), 5]  # one JSON value among them
    described = list(app_module.describe.map(inputs))
    assert [(kind, value) for kind, value, _, _ in described] == [
        ("tuple", (1, 2)),
        ("dict", {1: "int key"}),
        ("Color", app_module.Color.BLUE),
        ("Vector", app_module.Vector(7)),
        ("int", 5),
    ]
    assert described[2][1] is app_module.Color.BLUE  # by reference: the caller's own member
    points = [app_module.Point(float(i), 0.0) for i in range(12)]
    moved = list(app_module.translate.map(points, [(1.0, 1.0)] * 12))
    assert moved == [app_module.Point(float(i) + 1, 1.0) for i in range(12)]


def test_json_arguments_stay_json_and_a_result_json_cannot_carry_comes_back_pickled(app_module: Any) -> None:
    # JSON arguments make a JSON call, as any HTTP client's: its result is JSON whenever JSON can write it.
    assert app_module.describe.remote([1, 2]) == ["list", [1, 2], [], []]
    assert app_module.union.remote([1, 2], [2, 3]) == {1, 2, 3}  # a set: pickled, whatever the arguments
    assert list(app_module.union.map([[1], [2]], [[3], [4]])) == [{1, 3}, {2, 4}]


def test_values_of_the_callers_script_travel_by_value_through_the_sandboxs_cloudpickle(app_module: Any) -> None:
    script: dict[str, Any] = {"__name__": "__main__"}  # as `python script.py` defines them: not importable elsewhere
    exec(SCRIPT, script)
    assert app_module.apply.remote(lambda x: x * 2, 21) == 42
    assert app_module.apply.remote(script["Celsius"].fahrenheit, script["Celsius"](100)) == 212.0
    warmer = app_module.apply.remote(script["Celsius"], 30)  # built in the sandbox, sent back by value
    assert type(warmer).__name__ == "Celsius" and warmer.fahrenheit() == 86.0


def test_an_argument_that_cannot_be_pickled_is_refused_before_sending(app_module: Any) -> None:
    with pytest.raises(TypeError, match=r"positional argument 1 \(lock\) cannot be sent: it is not JSON"):
        app_module.describe.remote(1, threading.Lock())


def test_http_clients_see_json_calls_unchanged_and_pickled_results_as_base64(
    platform: Platform, app_module: Any
) -> None:
    headers = {"Authorization": f"Bearer {platform.tenant.token}", "Prefer": "wait=30"}
    base = f"{platform.url}/v1/apps/{app_module.app.name}/functions"
    with httpx.Client(timeout=60) as http:
        called = http.post(f"{base}/describe/calls", json={"args": ["ada"], "kwargs": {"x": 1}}, headers=headers)
        assert called.status_code == 200, called.text
        call = called.json()
        assert call["result"] == ["str", "ada", [], ["x"]]
        assert (call["result_type"], call["result_b64"]) == ("application/json", None)

        as_form = http.post(f"{base}/describe/calls", content=b'{"args": [1]}', headers=headers)  # curl -d
        assert as_form.json()["result"] == ["int", 1, [], []]

        pickled = http.post(f"{base}/union/calls", json={"args": [[1], [2]]}, headers=headers).json()
        assert pickled["status"] == "succeeded" and pickled["result"] is None
        assert pickled["result_type"] == PICKLE and isinstance(pickled["result_b64"], str)
        again = http.get(f"{platform.url}/v1/calls/{pickled['id']}/result", headers=headers).json()
        assert again["result_b64"] == pickled["result_b64"]
