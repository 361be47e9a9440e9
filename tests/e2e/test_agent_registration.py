"""A real agent process joins with a node token, heartbeats, and leaves cleanly on SIGTERM."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from api.settings import Settings
from tests.conftest import Tenant
from tests.e2e.conftest import Process, server_env


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_agent_registers_and_heartbeats(api_server: str, tenant: Tenant, settings: Settings, tmp_path: Path) -> None:
    node_token = httpx.post(
        f"{api_server}/v1/tokens", json={"name": "agent", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    agent = Process(
        [
            sys.executable,
            "-m",
            "agent",
            "--api",
            api_server,
            "--token",
            node_token,
            "--name",
            "e2e-node",
            "--state-dir",
            str(tmp_path / "agent"),
            "--label",
            "zone=test",
        ],
        server_env(settings),
        tmp_path / "agent.log",
    )

    def nodes() -> list[dict[str, object]]:
        items: list[dict[str, object]] = httpx.get(f"{api_server}/v1/nodes", headers=tenant.headers).json()["items"]
        return items

    try:
        wait_for(lambda: len(nodes()) == 1)
        first = nodes()[0]
        assert first["name"] == "e2e-node" and first["labels"] == {"zone": "test"} and first["state"] == "ready"
        wait_for(lambda: nodes()[0]["last_heartbeat_at"] != first["last_heartbeat_at"])
    finally:
        code = agent.stop()
    assert code == 0, agent.output()[-2000:]


def test_agent_refuses_user_tokens(api_server: str, tenant: Tenant, settings: Settings, tmp_path: Path) -> None:
    agent = Process(
        [sys.executable, "-m", "agent", "--api", api_server, "--token", tenant.token],
        server_env(settings),
        tmp_path / "agent.log",
    )
    assert agent.popen.wait(20) == 2
    assert "node token" in agent.output()
