"""The `skiff` command line: `skiff server ...` hands every argument to `python -m <component>`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skiff.cli import app
from skiff.cli import server as server_cli

SKIFF = Path(sys.executable).parent / "skiff"


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv each `os.execv` would have run; the process is not replaced."""
    calls: list[list[str]] = []
    monkeypatch.setattr(server_cli.os, "execv", lambda path, argv: calls.append([path, *argv]))
    return calls


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["server", "api"], ["-m", "api"]),
        (
            ["server", "api", "bootstrap", "--workspace", "w1"],
            ["-m", "api", "bootstrap", "--workspace", "w1"],
        ),
        (["server", "scheduler", "--help"], ["-m", "scheduler", "--help"]),
        (
            ["server", "agent", "--api", "http://h:1", "--token", "nk_x"],
            ["-m", "agent", "--api", "http://h:1", "--token", "nk_x"],
        ),
        (
            ["agent", "--api", "http://h:1", "--token", "nk_x"],
            ["-m", "agent", "--api", "http://h:1", "--token", "nk_x"],
        ),
    ],
)
def test_server_commands_become_the_component(argv: list[str], expected: list[str], execs: list[list[str]]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert execs == [[sys.executable, sys.executable, *expected]]


def test_server_without_a_component_shows_the_choices(execs: list[list[str]]) -> None:
    result = CliRunner().invoke(app, ["server", "--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in ("api", "scheduler", "agent"))
    assert execs == []


def test_skiff_server_api_help_is_the_apis_own() -> None:
    result = subprocess.run([SKIFF, "server", "api", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: skiff server api")
    assert "migrate" in result.stdout


def test_the_client_package_loads_without_the_server_packages() -> None:
    code = "import sys, skiff.cli, skiff.local.stack; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert not {"'api'", "'scheduler'", "'agent'"} & set(loaded.stdout.strip("[]\n").split(", "))
