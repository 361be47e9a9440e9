"""The SDK without a server: options checked at decoration time, the generated `skiff.toml`, the
bundle's contents, payload checks and the error mapping."""

from __future__ import annotations

import io
import json
import math
import pickle
import subprocess
import sys
import tarfile
import textwrap
import threading
import tomllib
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import httpx
import pytest

import skiff
from api.deployments import options as server_options
from api.deployments.manifest import parse_manifest
from skiff import options as sdk_options
from skiff.bundle import build_bundle, bundle_files
from skiff.calls import MAP_BATCH, MAP_BATCH_BYTES, call_input, pickled_batches, start_call
from skiff.connection import MAX_ATTEMPTS, Connection, error_from_response
from skiff.deployments import deploy_bundle, manifest, manifest_text, package
from skiff.loader import load_app
from skiff_client.models.call_input import CallInput


def square(x: int) -> int:
    return x * x


def load_weights() -> None:
    pass


RETRIES = "functions.square.retries"


def register(**options: Any) -> skiff.Function[[int], int]:
    return skiff.App("options").function(**options)(square)


@pytest.mark.parametrize(
    ("options", "field", "fragment"),
    [
        ({"memory": 64}, "functions.square.memory", "64 is out of range; allowed 128..262144 (MiB)"),
        ({"cpu": 0.1}, "functions.square.cpu", "allowed 0.125..64 (CPU cores)"),
        ({"timeout": 0}, "functions.square.timeout", "allowed 1..86400 (seconds per attempt)"),
        ({"timeout": 2.5}, "functions.square.timeout", "expected an integer, got float 2.5"),
        ({"max_containers": 1001}, "functions.square.max_containers", "allowed 1..1000 (containers)"),
        ({"buffer_containers": -1}, "functions.square.buffer_containers", "allowed 0..100"),
        ({"max_inputs": 0}, "functions.square.max_inputs", "allowed 1..1000"),
        ({"scaledown_window": 1}, "functions.square.scaledown_window", "allowed 2..86400 (seconds)"),
        ({"max_pending": 0}, "functions.square.max_pending", "allowed 1..1000000 (queued calls)"),
        ({"min_containers": 5, "max_containers": 2}, "functions.square.min_containers", "more than max_containers"),
        ({"retries": 11}, "functions.square.retries", "11 is out of range; allowed 0..10 (retries)"),
        ({"retries": skiff.Retries(3, backoff_coefficient=0.5)}, f"{RETRIES}.backoff_coefficient", "allowed 1.0..10.0"),
        ({"retries": skiff.Retries(1, initial_delay=30, max_delay=10)}, f"{RETRIES}.initial_delay", "max_delay"),
        ({"retries": "3"}, "functions.square.retries", "expected an integer or skiff.Retries"),
        ({"gpu": "H100:9"}, "functions.square.gpu", "GPU count '9' is out of range; allowed 1..8"),
        ({"gpu": ["H100", 3]}, "functions.square.gpu[1]", "expected a string"),
        ({"gpu": "H 100"}, "functions.square.gpu", "is not a GPU request"),
        ({"image": skiff.Image(python="3.8")}, "functions.square.python", "allowed 3.9..3.14"),
        ({"image": skiff.Image(python="3.11", base="torch")}, "functions.square", "either python or base"),
        ({"image": skiff.Image(pip=["-e ."])}, "functions.square.pip[0]", "pip options are not allowed"),
        ({"env": {"SKIFF_X": "1"}}, "functions.square.env.SKIFF_X", "reserved"),
        ({"env": {"PATH": "/bin"}}, "functions.square.env.PATH", "reserved"),
        ({"env": {"LEVEL": 3}}, "functions.square.env.LEVEL", "expected a string"),
        ({"preload": ["numpy", "not a module"]}, "functions.square.preload[1]", "is not a module name"),
        ({"setup": "no-colon"}, "functions.square.setup", "not of the form module:function"),
        ({"zygote": "yes"}, "functions.square.zygote", "expected True or False"),
    ],
)  # fmt: skip
def test_out_of_range_options_fail_at_decoration_with_the_allowed_range(
    options: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(skiff.InvalidRequest) as caught:
        register(**options)
    assert any(error.field == field and fragment in error.message for error in caught.value.errors), caught.value
    assert fragment in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(skiff.InvalidRequest) as caught:
        register(memory=1, timeout=0, gpu="H100:0")
    assert [e.field for e in caught.value.errors] == [
        "functions.square.memory",
        "functions.square.timeout",
        "functions.square.gpu",
    ]


def test_options_at_the_edges_of_their_ranges_are_accepted() -> None:
    function = register(
        cpu=0.125, memory=262_144, timeout=86_400, min_containers=0, max_containers=1000, buffer_containers=100,
        max_inputs=1000, scaledown_window=2, max_pending=1_000_000, gpu=["H100:8", "any"],
        retries=skiff.Retries(10, backoff_coefficient=10, initial_delay=0, max_delay=3600),
        image=skiff.Image(base="torch", pip=["pillow>=10"]), env={"LOG_LEVEL": "info"}, preload=["json"],
        zygote=False, setup=load_weights,
    )  # fmt: skip
    assert (function.app_name, function.name) == ("options", "square")
    assert function.local(7) == 49


def test_the_sdk_copies_the_servers_ranges() -> None:
    for sdk, server in ((sdk_options.FUNCTION_NUMBERS, server_options.FUNCTION_NUMBERS),
                        (sdk_options.RETRY_NUMBERS, server_options.RETRY_NUMBERS)):  # fmt: skip
        assert {k: (b.low, b.high, b.unit) for k, b in sdk.items()} == {
            k: (b.low, b.high, b.unit) for k, b in server.items()
        }


def test_functions_must_be_top_level_and_setup_in_the_same_module() -> None:
    app = skiff.App("shapes")

    def nested() -> None:
        pass

    with pytest.raises(skiff.InvalidRequest, match="defined at the top level"):
        app.function()(nested)
    with pytest.raises(skiff.InvalidRequest, match="same module"):
        app.function(setup=json.dumps)(square)
    with pytest.raises(skiff.InvalidRequest, match="app name 'Bad_Name' is invalid"):
        skiff.App("Bad_Name")
    app.function()(square)
    with pytest.raises(skiff.InvalidRequest, match="already has a function named 'square'"):
        app.function()(square)


def write_app(directory: Path, stem: str, body: str) -> Path:
    path = directory / f"{stem}.py"
    path.write_text(textwrap.dedent(body))
    return path


APP_SOURCE = """
    import skiff
    from helpers import shout

    app = skiff.App("{name}")

    def warm() -> None:
        pass

    @app.function(memory=2048, gpu=["H100", "A100:2"], retries=skiff.Retries(3, initial_delay=2),
                  image=skiff.Image(python="3.12", pip=["pillow>=10"]), env={{"LEVEL": "debug"}}, setup=warm)
    def resize(path: str) -> str:
        return shout(path)

    @app.function(timeout=30, retries=2, setup="models:load", zygote=False)
    def ping() -> str:
        return "pong"
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "helpers.py").write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "weights.json").write_text("{}")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "notes").mkdir()  # not a package: left out
    (tmp_path / "notes" / "draft.py").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_app.py").write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("")
    (tmp_path / "venv" / "__init__.py").write_text("")
    (tmp_path / ".secret.py").write_text("")
    (tmp_path / "skiff.toml").write_text("# an old manifest, replaced by the generated one\n")
    (tmp_path / "data.csv").write_text("a,b\n")
    return tmp_path


def load(app_dir: Path) -> tuple[skiff.App, str]:
    stem = f"app_{uuid.uuid4().hex[:8]}"  # a module name of its own per test: the loader registers it
    return load_app(write_app(app_dir, stem, APP_SOURCE.format(name="resizer"))), stem


def test_the_manifest_has_one_table_per_function_with_handler_and_options(app_dir: Path) -> None:
    app, stem = load(app_dir)
    document = manifest(app.registered_functions, app_dir)
    assert document == {
        "functions": {
            "resize": {
                "handler": f"{stem}:resize",
                "setup": f"{stem}:warm",
                "python": "3.12",
                "requirements": ["pillow>=10"],
                "memory": 2048,
                "gpu": ["H100", "A100:2"],
                "retries": {"max_retries": 3, "backoff_coefficient": 2.0, "initial_delay": 2.0, "max_delay": 60.0},
                "env": {"LEVEL": "debug"},
            },
            "ping": {"handler": f"{stem}:ping", "setup": "models:load", "timeout": 30, "retries": 2, "zygote": False},
        }
    }
    text = manifest_text(app.registered_functions, app_dir)
    assert tomllib.loads(text) == document
    parsed = parse_manifest(text)  # the server accepts what the SDK writes
    assert parsed.functions["resize"].memory == 2048
    assert parsed.functions["ping"].retries.max_retries == 2


def test_the_bundle_holds_the_code_beside_the_app_and_the_generated_manifest(app_dir: Path) -> None:
    app, stem = load(app_dir)
    bundle = package(app.registered_functions, app_dir)
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        names = tar.getnames()
        manifest_bytes = tar.extractfile("skiff.toml").read()  # type: ignore[union-attr]
    assert names == [
        "skiff.toml",
        "skiff/__init__.py",
        f"{stem}.py",
        "helpers.py",
        "pkg/__init__.py",
        "pkg/weights.json",
    ]
    assert tomllib.loads(manifest_bytes.decode())["functions"]["ping"]["handler"] == f"{stem}:ping"
    assert package(app.registered_functions, app_dir) == bundle  # deterministic: same code, same bytes


def test_handlers_in_packages_are_named_by_their_path(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "__init__.py").write_text("")
    module = f"jobs_{uuid.uuid4().hex[:8]}"
    write_app(tmp_path / "tasks", module, "def run() -> int:\n    return 1\n")
    stem = f"main_{uuid.uuid4().hex[:8]}"
    source = f"""
        import skiff
        from tasks.{module} import run

        app = skiff.App("tasks")
        app.function(timeout=5)(run)
    """
    app = load_app(write_app(tmp_path, stem, source))
    assert manifest(app.registered_functions, tmp_path)["functions"]["run"]["handler"] == f"tasks.{module}:run"


def test_a_bundle_over_the_size_limit_names_the_largest_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "big.py").write_text("#" * 4096)
    with pytest.raises(skiff.PayloadTooLarge, match=r"big\.py"):
        build_bundle(tmp_path, "", limit=1024)
    assert [p.as_posix() for p in bundle_files(tmp_path)] == ["app.py", "big.py"]


def test_a_file_that_cannot_be_a_module_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "my-app.py"
    path.write_text("import skiff\napp = skiff.App('x')\n")
    with pytest.raises(skiff.InvalidRequest, match=r"rename it to my_app\.py"):
        load_app(path)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ([1, "a", [None, True], -0.5, 10**30], {"opts": {"k": 1.5}}),
        ([], {}),
    ],
)
def test_arguments_json_carries_exactly_go_as_json(args: list[Any], kwargs: dict[str, Any]) -> None:
    body = call_input(args, kwargs)
    assert isinstance(body, CallInput)
    assert body.to_dict() == {"args": args, "kwargs": kwargs}


SHARED = [0]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ([1, b"raw"], {}),
        ([(1, 2)], {}),  # JSON would make the tuple a list
        ([], {"when": {1, 2}}),
        ([{1: "a"}], {}),  # ... and the int key a str
        ([True, sdk_options.Retries(2)], {}),
        ([], {"x": float("nan")}),
        ([SHARED, SHARED], {}),  # ... and two references to one list two lists
        ([OrderedDict(a=1)], {}),  # a subclass of dict is not a dict
    ],
)
def test_other_arguments_go_pickled_and_arrive_as_they_were(args: list[Any], kwargs: dict[str, Any]) -> None:
    body = call_input(args, kwargs)
    assert isinstance(body, bytes)
    sent_args, sent_kwargs = pickle.loads(body)
    assert (list(sent_args), sent_kwargs) == (args, kwargs) or math.isnan(sent_kwargs["x"])
    assert [type(a) for a in sent_args] == [type(a) for a in args]


def test_pickled_map_inputs_go_in_batches_bounded_by_count_and_size() -> None:
    sizes = [len(batch) for batch in pickled_batches([b"x"] * 2500)]
    assert sizes == [MAP_BATCH, MAP_BATCH, 500]
    big = b"x" * (MAP_BATCH_BYTES // 3 + 1)
    sizes = [len(batch) for batch in pickled_batches([big] * 5 + [b"y" * (MAP_BATCH_BYTES + 1)])]
    assert sizes == [2, 2, 1, 1]  # an input over the size alone goes alone


def test_an_argument_neither_json_nor_picklable_is_named() -> None:
    with pytest.raises(TypeError, match=r"positional argument 1 \(generator\) cannot be sent: it is not JSON"):
        call_input([1, (x for x in [])], {})
    with pytest.raises(TypeError, match=r"keyword argument 'lock' \(lock\) cannot be sent"):
        call_input([], {"lock": threading.Lock()})


@pytest.mark.parametrize(
    ("status", "body", "error", "fragment"),
    [
        (401, {"title": "Unauthorized", "detail": "invalid token", "status": 401}, skiff.AuthError, "invalid token"),
        (403, {"detail": "needs scope deploy"}, skiff.AuthError, "needs scope deploy"),
        (404, {"detail": "function 'nope' not found"}, skiff.NotFound, "function 'nope' not found"),
        (413, {"detail": "input is over 1 MiB"}, skiff.PayloadTooLarge, "over 1 MiB"),
        (429, {"detail": "queue full", "retry_after": 5}, skiff.RateLimited, "queue full"),
        (503, {"detail": "redis is down"}, skiff.Unavailable, "redis is down"),
        (409, {"detail": "conflict"}, skiff.Error, "conflict"),
        (500, None, skiff.Error, "HTTP 500"),
    ],
)
def test_problem_answers_become_skiff_errors(
    status: int, body: dict[str, Any] | None, error: type[skiff.Error], fragment: str
) -> None:
    found = error_from_response(status, json.dumps(body).encode() if body else b"", {})
    assert type(found) is error
    assert fragment in str(found)
    assert found.status == status


def test_field_errors_and_retry_after_are_kept() -> None:
    body = {"detail": "invalid manifest", "errors": [{"field": "functions.a.memory", "message": "too big"}]}
    invalid = error_from_response(422, json.dumps(body).encode(), {})
    assert isinstance(invalid, skiff.InvalidRequest)
    assert invalid.errors == [skiff.FieldError("functions.a.memory", "too big")]
    limited = error_from_response(429, b'{"detail": "slow down"}', {"retry-after": "7"})
    assert isinstance(limited, skiff.RateLimited)
    assert limited.retry_after == 7


def test_the_connection_comes_from_the_environment_or_the_active_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SKIFF_URL", raising=False)
    monkeypatch.delenv("SKIFF_TOKEN", raising=False)
    monkeypatch.delenv("SKIFF_PROFILE", raising=False)
    with pytest.raises(skiff.AuthError, match="SKIFF_URL and SKIFF_TOKEN"):
        Connection.from_config()
    (tmp_path / "skiff").mkdir()
    (tmp_path / "skiff" / "config.toml").write_text(
        'active = "local"\n[profiles.local]\nurl = "http://127.0.0.1:8000/"\ntoken = "sk_local"\nworkspace = "w"\n'
        '[profiles.prod]\nurl = "https://skiff.example"\ntoken = "sk_prod"\nworkspace = "w"\n'
    )
    assert Connection.from_config().url == "http://127.0.0.1:8000"
    monkeypatch.setenv("SKIFF_PROFILE", "prod")
    assert Connection.from_config().url == "https://skiff.example"
    monkeypatch.setenv("SKIFF_URL", "http://override:1")
    assert Connection.from_config().url == "http://override:1"


def test_the_bundled_stub_lets_the_app_module_import_without_the_sdk(
    app_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app, stem = load(app_dir)
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(fileobj=io.BytesIO(package(app.registered_functions, app_dir))) as tar:
        tar.extractall(unpacked)
    code = f"import sys; sys.path.insert(0, sys.argv[1]); import {stem} as m; print(m.resize('a'), m.ping())"
    # -I -S: no site-packages, as in a sandbox without a venv
    ran = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(unpacked)], capture_output=True, text=True, check=False
    )
    assert (ran.returncode, ran.stdout) == (0, "A pong\n"), ran.stderr


CALL = {
    "id": "call_1", "app": "a", "function": "f", "version": 1, "status": "succeeded", "attempt": 1, "max_attempts": 1,
    "cold_start": False, "cold_start_ms": None, "container_id": None, "node_id": None,
    "created_at": "2026-01-01T00:00:00+00:00", "started_at": None, "finished_at": None, "result": 42,
}  # fmt: skip


def scripted(monkeypatch: pytest.MonkeyPatch, *answers: httpx.Response | Exception) -> tuple[Connection, list[str]]:
    """A connection whose transport gives `answers` in order (the retry policy's seam, not a server)."""
    monkeypatch.setattr("skiff.connection.time.sleep", lambda seconds: None)
    seen: list[str] = []
    pending = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.headers.get('idempotency-key', '-') != '-'}")
        next_answer = pending.pop(0)
        if isinstance(next_answer, Exception):
            raise next_answer
        return next_answer

    return Connection("http://skiff.test", "sk_x", transport=httpx.MockTransport(answer)), seen


def test_idempotent_requests_are_retried_on_network_errors_429_and_503(monkeypatch: pytest.MonkeyPatch) -> None:
    connection, seen = scripted(
        monkeypatch,
        httpx.ConnectError("refused"),
        httpx.Response(503, json={"detail": "db down"}),
        httpx.Response(429, json={"detail": "slow down", "retry_after": 1}),
        httpx.Response(200, json=CALL),
    )
    assert skiff.FunctionCall[int]("call_1", connection=connection).get() == 42
    assert seen == ["GET False"] * 4
    connection, seen = scripted(
        monkeypatch, httpx.Response(503, json={"detail": "db down"}), httpx.Response(200, json=CALL)
    )
    assert start_call(connection, "a", "f", [1], {}).id == "call_1"  # a POST with an Idempotency-Key
    assert seen == ["POST True", "POST True"]


def test_requests_that_are_not_idempotent_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    connection, seen = scripted(monkeypatch, httpx.Response(503, json={"detail": "blob store down"}))
    with pytest.raises(skiff.Unavailable, match="blob store down"):
        deploy_bundle("a", b"bundle", connection=connection)
    connection, seen = scripted(monkeypatch, httpx.ConnectError("refused"))
    with pytest.raises(skiff.Unavailable, match=r"cannot reach the Skiff server at http://skiff\.test"):
        deploy_bundle("a", b"bundle", connection=connection)
    assert len(seen) == 1


def test_retries_give_up_with_the_servers_message(monkeypatch: pytest.MonkeyPatch) -> None:
    connection, seen = scripted(monkeypatch, *[httpx.Response(429, json={"detail": "queue full"})] * MAX_ATTEMPTS)
    with pytest.raises(skiff.RateLimited, match="queue full"):
        skiff.FunctionCall[int]("call_1", connection=connection).get()
    assert len(seen) == MAX_ATTEMPTS


def test_secrets_are_written_into_the_manifest_by_name() -> None:
    options = sdk_options.FunctionOptions(secrets=(skiff.Secret.from_name("db"), "openai", "db"))
    assert options.problems("functions.f") == []
    table = options.to_manifest()
    assert table == {"secrets": ["db", "openai"]}
    parsed = parse_manifest(f'[functions.f]\nhandler = "app:f"\nsecrets = {json.dumps(table["secrets"])}\n')
    assert parsed.functions["f"].secrets == ("db", "openai")
    assert [p.field for p in sdk_options.FunctionOptions(secrets=("Bad Name",)).problems("functions.f")] == [
        "functions.f.secrets[0]"
    ]
    with pytest.raises(skiff.InvalidRequest, match="not a secret name"):
        skiff.Secret.from_name("Bad Name")
