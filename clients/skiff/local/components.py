"""The Skiff server processes of a local stack, and how each one is recognised in /proc."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from skiff.local.services import ChildProcess

SERVER_MODULES = ("api", "scheduler", "agent")


@dataclass
class ServerComponent(ChildProcess):
    """`python -m <module> ARGS` (the API, the scheduler or an agent) with an environment of its own."""

    module: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        # sys.executable is the venv's interpreter: no shim in front of it, no surprise in what it imports.
        self._spawn([sys.executable, "-m", self.module, *self.args], None, self.env)


def started_as_module(argv: list[str], module: str) -> bool:
    return any(argv[i] == "-m" and argv[i + 1] == module for i in range(len(argv) - 1))


def is_postgres_of(argv: list[str], data_dir: Path) -> bool:
    return Path(argv[0]).name == "postgres" and str(data_dir) in argv


def is_redis_on(argv: list[str], port: int) -> bool:
    # Redis rewrites its title to "redis-server 127.0.0.1:PORT", so the port is what identifies it.
    title = " ".join(argv)
    return "redis-server" in argv[0] and f"127.0.0.1:{port}" in title
