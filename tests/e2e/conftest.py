"""Real Skiff processes (API, scheduler, agents) against the session's Postgres and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from skiff.local.services import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


class Process:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        return self.popen.returncode


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SKIFF_DATABASE_URL": settings.database_url,
        "SKIFF_REDIS_URL": settings.redis_url,
        "SKIFF_BLOB_URL": settings.blob_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@pytest.fixture(scope="session")
def api_server(settings: Settings, state_dir: Path) -> Iterator[str]:
    port = free_port()
    env = server_env(settings, SKIFF_PORT=str(port), SKIFF_NODE_HEARTBEAT_INTERVAL_SECONDS="0.5")
    process = Process([sys.executable, "-m", "api", "serve"], env, state_dir / "api.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.stop()
        pytest.fail(f"API did not become ready:\n{process.output()[-3000:]}")
    yield url
    # uvicorn re-raises SIGTERM after a graceful shutdown, so the exit status is -SIGTERM
    assert process.stop() in (0, -signal.SIGTERM), process.output()[-3000:]
    assert "Application shutdown complete" in process.output()
