"""`skiff up` for real: it starts the whole platform, prints a curl line that works, stops cleanly on
SIGTERM leaving no process behind, and a second run reuses the state (same token, same data).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from skiff.local.services import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SKIFF = Path(sys.executable).parent / "skiff"
READY_TIMEOUT_SECONDS = 120.0
# A developer's own settings must not leak into the stack under test.
SETTINGS_FROM_OUTSIDE = (
    "SKIFF_DATABASE_URL",
    "SKIFF_REDIS_URL",
    "SKIFF_BLOB_URL",
    "SKIFF_STATE_DIR",
    "SKIFF_PORT",
    "SKIFF_PG_PORT",
    "SKIFF_REDIS_PORT",
    "SKIFF_HOST",
    "XDG_CONFIG_HOME",
)


@dataclass
class SkiffUp:
    """A running `skiff up`, its output collected line by line as it is printed."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if found:
                return found[0]
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader drain the last lines
                pytest.fail(f"skiff up exited with {self.process.returncode}:\n{self.output}")
            time.sleep(0.1)
        pytest.fail(f"no line starting with {prefix!r} within {timeout}s:\n{self.output}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@dataclass(frozen=True)
class Machine:
    state: Path
    home: Path
    port: int

    def skiff_up(self) -> SkiffUp:
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS_FROM_OUTSIDE}
        env |= {"HOME": str(self.home), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        process = subprocess.Popen(
            [SKIFF, "up", "--state-dir", str(self.state), "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        return SkiffUp(process)


@pytest.fixture
def machine() -> Iterator[Machine]:
    root = Path(tempfile.mkdtemp(prefix="skiff-up-"))
    root.chmod(0o755)  # Postgres runs as an unprivileged user and must reach its data directory
    (root / "home").mkdir()
    yield Machine(state=root / "state", home=root / "home", port=free_port())
    shutil.rmtree(root, ignore_errors=True)


def pids(state: Path) -> dict[str, int]:
    return {path.stem: int(path.read_text()) for path in (state / "run").glob("*.pid")}


def leftovers(state: Path) -> list[str]:
    """Processes still tied to this state directory: its path, or its Redis port, in their command line."""
    redis = f"127.0.0.1:{json.loads((state / 'ports.json').read_text())['redis']}"
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(state) in argv or ("redis-server" in argv and redis in argv):
            found.append(f"{proc.name}: {argv}")
    return found


def run_as_printed(curl: str) -> dict[str, object]:
    result = subprocess.run(
        ["bash", "-c", curl + " --silent --show-error --fail"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, f"{curl!r} failed: {result.stderr}"
    body: dict[str, object] = json.loads(result.stdout)
    return body


def stop_and_check_nothing_is_left(up: SkiffUp, state: Path) -> None:
    running = pids(state)
    assert set(running) == {"supervisor", "postgres", "redis", "api", "scheduler", "agent"}
    assert up.stop() == 0, up.output
    gone_by = time.monotonic() + 5  # the supervisor waited for its children; /proc may lag a moment
    while any(Path(f"/proc/{pid}").exists() for pid in running.values()) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert [name for name, pid in running.items() if Path(f"/proc/{pid}").exists()] == []
    assert leftovers(state) == []
    assert pids(state) == {}, "pidfiles are removed on a clean stop"


def test_skiff_up_serves_stops_cleanly_and_keeps_its_state(machine: Machine) -> None:
    started = time.monotonic()
    first = machine.skiff_up()
    try:
        curl = first.wait_for_line("curl ", READY_TIMEOUT_SECONDS)
        url = curl.rsplit(" ", 1)[1].removesuffix("/v1/workspace")
        assert url == f"http://127.0.0.1:{machine.port}"
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        workspace = run_as_printed(curl)
        assert workspace["name"] == "default"

        config_file = machine.home / ".config" / "skiff" / "config.toml"
        assert config_file.stat().st_mode & 0o777 == 0o600
        config = tomllib.loads(config_file.read_text())
        token = curl.split("Bearer ", 1)[1].split('"', 1)[0]
        assert config["active"] == "default"
        assert config["profiles"]["default"] == {"url": url, "token": token, "workspace": "default"}
        for secret in ("workspace.json", "node-token"):
            assert (machine.state / secret).stat().st_mode & 0o777 == 0o600
    finally:
        stop_and_check_nothing_is_left(first, machine.state)
    first_run = time.monotonic() - started

    second = machine.skiff_up()
    try:
        assert second.wait_for_line("curl ", READY_TIMEOUT_SECONDS) == curl
        assert run_as_printed(curl)["id"] == workspace["id"]
        assert "creating workspace" not in second.output
    finally:
        stop_and_check_nothing_is_left(second, machine.state)
    print(f"first run {first_run:.1f}s, both runs {time.monotonic() - started:.1f}s")
