"""A real agent process joins with a node token, heartbeats, and leaves cleanly on SIGTERM."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent.sandbox import users
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


def test_agent_registers_and_heartbeats(api_server: str, tenant: Tenant, settings: Settings, open_tmp: Path) -> None:
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
            str(open_tmp / "agent"),
            "--label",
            "zone=test",
        ],
        server_env(settings),
        open_tmp / "agent.log",
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


def test_an_agent_whose_sandbox_users_cannot_reach_its_state_says_so(
    api_server: str, tenant: Tenant, settings: Settings, tmp_path: Path
) -> None:
    """tmp_path is private to root: users of the sandbox range cannot enter it. Asked for the range,
    the agent exits naming the directory; on `auto` it runs its sandboxes as itself, with a warning."""
    if os.geteuid() != 0:
        pytest.skip("only an agent run as root runs sandboxes as other users")
    node_token = httpx.post(
        f"{api_server}/v1/tokens", json={"name": "agent", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    argv = [sys.executable, "-m", "agent", "--api", api_server, "--token", node_token, "--name", "private"]
    argv += ["--state-dir", str(tmp_path / "agent")]
    private = next(p for p in reversed([tmp_path, *tmp_path.parents]) if p.stat().st_mode & 0o001 == 0)
    strict = Process([*argv, "--sandbox-uids", users.DEFAULT_RANGE], server_env(settings), tmp_path / "strict.log")
    assert strict.popen.wait(20) == 2
    assert f"sandbox uids {users.DEFAULT_RANGE}: an unprivileged sandbox user cannot reach" in strict.output()
    assert f"{private} is mode 0700" in strict.output()

    auto = Process([*argv, "--sandbox-uids", "auto"], server_env(settings), tmp_path / "auto.log")
    try:
        wait_for(lambda: "registered" in auto.output())
        assert "sandboxes run as the agent's own user (root, without capabilities)" in auto.output()
        assert f"{private} is mode 0700" in auto.output()
    finally:
        assert auto.stop() == 0, auto.output()[-2000:]
