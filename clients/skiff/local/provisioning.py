"""The one-time steps of a local stack: migrate, create the workspace, create the agent's node token.

Migrations and the workspace go through `python -m api` (they need the database); the node token
goes through the HTTP API like any other client would create one.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from skiff.local.state import WorkspaceCredentials

READY_POLL_SECONDS = 0.2


class ProvisioningError(RuntimeError):
    """A setup step failed; the message carries the step's output or the API's answer."""


def run_api_command(args: list[str], env: dict[str, str], log_path: Path) -> str:
    """Run `python -m api ARGS`, append its stderr to `log_path`, return its stdout."""
    with log_path.open("ab") as log:
        result = subprocess.run(
            [sys.executable, "-m", "api", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        raise ProvisioningError(
            f"`python -m api {' '.join(args)}` failed; last lines of {log_path}:\n" + "\n".join(tail)
        )
    return result.stdout.decode()


def migrate(env: dict[str, str], log_path: Path) -> None:
    run_api_command(["migrate"], env, log_path)


def bootstrap(env: dict[str, str], log_path: Path, workspace: str) -> WorkspaceCredentials:
    output = run_api_command(["bootstrap", "--workspace", workspace], env, log_path)
    created = json.loads(output.strip().splitlines()[-1])
    return WorkspaceCredentials(
        workspace_id=created["workspace_id"], workspace=created["workspace"], token=created["token"]
    )


def wait_ready(url: str, timeout: float, check: Callable[[], None]) -> float:
    """Poll `url`/readyz until it answers 200; `check` raises to give up early. Returns the seconds waited."""
    started = time.monotonic()
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() - started < timeout:
            check()
            try:
                response = client.get(f"{url}/readyz")
            except httpx.TransportError as exc:
                last = type(exc).__name__
            else:
                if response.status_code == 200:
                    return time.monotonic() - started
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(READY_POLL_SECONDS)
    raise ProvisioningError(f"{url}/readyz did not answer 200 within {timeout:.0f}s (last: {last})")


def check_admin_token(url: str, token: str) -> None:
    """Fail with a fix when the saved token belongs to another database (the state was mixed up)."""
    response = _request("GET", f"{url}/v1/workspace", token)
    if response.status_code == 401:
        raise ProvisioningError(
            "the admin token saved in the state directory is unknown to this database; "
            "use the state directory that created it, "
            "or remove workspace.json and node-token from it to bootstrap anew"
        )
    if response.status_code != 200:
        raise ProvisioningError(f"GET {url}/v1/workspace answered {response.status_code}: {response.text[:500]}")


def create_node_token(url: str, admin_token: str) -> str:
    body = {"name": f"agent {socket.gethostname()}"[:64], "kind": "node"}
    response = _request("POST", f"{url}/v1/tokens", admin_token, body)
    if response.status_code != 201:
        raise ProvisioningError(f"creating the node token failed: {response.status_code} {response.text[:500]}")
    token: str = response.json()["token"]
    return token


def _request(method: str, url: str, token: str, body: dict[str, str] | None = None) -> httpx.Response:
    try:
        return httpx.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
    except httpx.HTTPError as exc:
        raise ProvisioningError(f"{method} {url} failed: {exc}") from exc
