"""`skiff run`'s arguments (`FILE::FUNCTION`, `--args`, `--kwargs`, `--name`), refused before anything is
deployed; and `--json` on every command that prints (the run itself is in tests/e2e/test_sdk_cls_run.py)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import skiff
from skiff.cli import app as cli_app
from skiff.cli.run import parse_arguments, parse_target, pick_function, run_app_name
from skiff.loader import load_app
from skiff.local.stack import LocalStack, Running
from skiff.local.state import StateDir, WorkspaceCredentials

APP_SOURCE = """
import skiff

app = skiff.App("runner")


@app.function()
def square(x):
    return x * x


@app.cls()
class Model:
    @skiff.method
    def predict(self, x):
        return x
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app.py::square", (Path("app.py"), "square")),
        ("dir/app.py::Model.predict", (Path("dir/app.py"), "Model.predict")),
        ("app.py", (Path("app.py"), None)),
    ],
)
def test_a_target_is_a_file_and_maybe_a_function(text: str, expected: tuple[Path, str | None]) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["app.py::", "::square", ""])
def test_a_target_without_its_file_or_with_an_empty_function_is_refused(text: str) -> None:
    with pytest.raises(skiff.InvalidRequest, match=r"is not FILE\[::FUNCTION\]"):
        parse_target(text)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ("[]", "{}", ([], {})),
        ('[2, "two", null, {"k": [1]}]', '{"punctuation": "?"}', ([2, "two", None, {"k": [1]}], {"punctuation": "?"})),
    ],
)
def test_arguments_are_a_json_list_and_a_json_object(
    args: str, kwargs: str, expected: tuple[list[object], dict[str, object]]
) -> None:
    assert parse_arguments(args, kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ('{"x": 1}', "{}", "--args must be a JSON list"),
        ("[1]", "[1]", "--kwargs must be a JSON object"),
        ("[ada]", "{}", "--args is not valid JSON"),
        ("[]", "x=1", "--kwargs is not valid JSON"),
    ],
)
def test_other_arguments_are_refused_with_an_example(args: str, kwargs: str, message: str) -> None:
    with pytest.raises(skiff.InvalidRequest, match=message):
        parse_arguments(args, kwargs)


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / f"runner_{uuid.uuid4().hex[:8]}.py"  # a module name of its own: the loader registers it
    path.write_text(APP_SOURCE)
    return path


def test_a_method_is_named_class_dot_method_and_a_missing_function_names_the_others(app_file: Path) -> None:
    app = load_app(app_file)
    assert pick_function(app, "square", app_file) == "square"
    assert pick_function(app, "Model.predict", app_file) == "Model-predict"
    assert pick_function(app, "Model-predict", app_file) == "Model-predict"
    with pytest.raises(skiff.NotFound, match=r"function 'cube' not found in .*; functions: Model\.predict, square"):
        pick_function(app, "cube", app_file)
    with pytest.raises(skiff.InvalidRequest, match=r"has 2 functions; pick one with .*::NAME: Model-predict, square"):
        pick_function(app, None, app_file)


def test_the_runs_app_has_a_name_of_its_own_within_the_limit() -> None:
    assert run_app_name("hello") == "hello-run"
    assert run_app_name("a" * 63) == "a" * 59 + "-run"


def test_skiff_run_refuses_before_deploying(app_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIFF_URL", "http://127.0.0.1:9")  # nothing listens: any request would fail differently
    monkeypatch.setenv("SKIFF_TOKEN", "sk_unused")
    runner = CliRunner()
    missing = runner.invoke(cli_app, ["run", f"{app_file}::cube"])
    assert missing.exit_code == 1
    assert "function 'cube' not found" in missing.output
    own_name = runner.invoke(cli_app, ["run", f"{app_file}::square", "--name", "runner"])
    assert own_name.exit_code == 1
    assert "is the app's own name" in own_name.output
    bad_args = runner.invoke(cli_app, ["run", f"{app_file}::square", "--args", "7"])
    assert bad_args.exit_code == 1
    assert "--args must be a JSON list" in bad_args.output


def test_skiff_run_help_shows_the_argument_syntax() -> None:
    shown = CliRunner().invoke(cli_app, ["run", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    for fragment in ("FILE[::FUNCTION]", "app.py::Model.predict", "--args '[2, \"two\"]'", "--kwargs", "--json"):
        assert fragment in shown.output


# Commands that print nothing of their own: they become the server process they name.
PASSTHROUGH = {"server api", "server scheduler", "server agent", "agent"}


def commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Each command by its path (`app ls`); typer's click objects, found by their shape."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found |= commands(command, f"{path} ")
        else:
            found[path] = command
    return found


def test_every_command_that_prints_has_a_json_option() -> None:
    found = commands(typer.main.get_command(cli_app))
    assert {"run", "deploy", "up", "logs", "calls ls", "app ls", "token ls"} <= set(found)
    without = [
        path
        for path, command in found.items()
        if path not in PASSTHROUGH and not any("--json" in param.opts for param in command.params)
    ]
    assert without == []


def test_skiff_up_json_prints_one_line_with_stable_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    quiet = Console(file=io.StringIO())
    stack = LocalStack(StateDir.at(tmp_path / "state"), 8000, quiet, quiet, json_output=True)
    credentials = WorkspaceCredentials(workspace_id="ws_1", workspace="default", token="sk_secret")
    stack._announce(Running(url="http://127.0.0.1:8000", credentials=credentials))
    line = capsys.readouterr().out
    assert line.count("\n") == 1
    ready = json.loads(line)
    assert set(ready) == {
        "url", "workspace", "token", "config", "profile", "active_profile", "state_dir", "logs_dir", "pid",
        "ready_seconds",
    }  # fmt: skip
    assert (ready["url"], ready["workspace"], ready["token"]) == ("http://127.0.0.1:8000", "default", "sk_secret")
    assert ready["config"] == str(tmp_path / "config" / "skiff" / "config.toml")
