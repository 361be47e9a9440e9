"""The platform under a benchmark, all of it ours: a durable Postgres (fsync on) and Redis in a throwaway
directory, the API, the scheduler and one agent, each a real process; and the /proc readings the benches
take of them (their process trees, CPU time and resident memory).

Used by core_loop.py, fan_out.py and throughput.py. Needs root and bubblewrap, like the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skiff.local.services import PostgresServer, RedisServer, free_port
from tests.bundles import make_bundle

ROOT = Path(__file__).resolve().parent.parent


class Child:
    """A server process in a session of its own (a terminal's Ctrl-C reaches only us), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("ab") as log:  # a restarted server (the agent, after a kill) adds to its log
            self.popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def sandbox_pids(*markers: str) -> list[int]:
    """Processes whose command line holds the container runtime's name and every marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"skiff_runtime" in cmdline and all(m.encode() in cmdline for m in markers):
            found.append(int(entry.name))
    return found


def descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc's parent links."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes (those that have exited count no more)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    pass


@dataclass
class Stack:
    """Postgres, Redis, the API, the scheduler and one agent, all ours; `close` stops them in reverse."""

    state: Path
    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    children: list[Child] = field(default_factory=list)
    url: str = ""
    token: str = ""
    # The cold figures are from zero: a function's zygote is reclaimed too, 2 s after its last container.
    agent_args: list[str] = field(default_factory=lambda: ["--zygote-idle-seconds", "2"])
    node_token: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        assert self.postgres is not None and self.redis is not None
        return {
            **os.environ,
            "SKIFF_DATABASE_URL": self.postgres.url,
            "SKIFF_REDIS_URL": self.redis.url,
            "SKIFF_BLOB_URL": f"file://{self.state / 'blobs'}",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def start(self, log: Callable[[str], None]) -> None:
        self.postgres = PostgresServer(
            name="postgres", log_path=self.state / "postgres.log", data_dir=self.state / "pg" / "data", durable=True
        )
        self.postgres.start()
        self.redis = RedisServer(name="redis", log_path=self.state / "redis.log", data_dir=self.state / "redis")
        self.redis.start()
        log(f"postgres :{self.postgres.port}, redis :{self.redis.port}")
        run = [sys.executable, "-m", "api"]
        subprocess.run([*run, "migrate"], cwd=ROOT, env=self.env(), check=True, capture_output=True)
        created = subprocess.run(
            [*run, "bootstrap", "--workspace", "bench"], cwd=ROOT, env=self.env(), check=True, capture_output=True
        )
        self.token = json.loads(created.stdout)["token"]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        api = self.spawn("api", [*run, "serve"], SKIFF_PORT=str(port))
        self.wait_for(api, lambda: httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200, "API ready")
        scheduler = self.spawn("scheduler", [sys.executable, "-m", "scheduler"])
        # A call made before the scheduler's first pass would wait for its start (about a second).
        self.wait_for(scheduler, self._scheduler_leads, "scheduler leading")
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = httpx.post(f"{self.url}/v1/tokens", json={"name": "agent", "kind": "node"}, headers=headers)
        answer.raise_for_status()
        self.node_token = answer.json()["token"]
        agent = self.start_agent()
        log(f"api {self.url} (pid {api.pid}), scheduler, agent (pid {agent.pid}) up")

    def _scheduler_leads(self) -> bool:
        query = "SELECT count(*) FROM leader_leases WHERE name = 'scheduler' AND expires_at > now()"
        return bool(self.rows(query)[0][0])

    def rows(self, query: str) -> list[asyncpg.Record]:
        """Rows straight from the stack's database, for what the API does not show."""
        assert self.postgres is not None
        url = self.postgres.url.replace("postgresql+asyncpg://", "postgresql://")

        async def read() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(url)
            try:
                return list(await conn.fetch(query))
            finally:
                await conn.close()

        return asyncio.run(read())

    def start_agent(self) -> Child:
        """The agent, its node registered (again, with the same name and state, after a kill)."""
        argv = [sys.executable, "-m", "agent", "--api", self.url, "--token", self.node_token, "--name", "bench-node"]
        agent = self.spawn("agent", [*argv, "--state-dir", str(self.state / "agent"), *self.agent_args])
        headers = {"Authorization": f"Bearer {self.token}"}

        def registered() -> bool:
            nodes = httpx.get(f"{self.url}/v1/nodes", headers=headers).json()["items"]
            return any(node["state"] == "ready" for node in nodes)

        self.wait_for(agent, registered, "agent registered")
        return agent

    def spawn(self, name: str, argv: list[str], **extra: str) -> Child:
        child = Child(name, argv, self.env(**extra), self.state)
        self.children.append(child)
        return child

    def child(self, name: str) -> Child:
        """The last started of that name (an agent started again after a kill, say)."""
        return next(c for c in reversed(self.children) if c.name == name)

    @staticmethod
    def wait_for(child: Child, ready: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                raise BenchError(f"{child.name} exited before {what}:\n{child.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if ready():
                    return
            time.sleep(0.1)
        raise BenchError(f"timed out waiting for {what}:\n{child.tail()}")

    def process_groups(self) -> dict[str, list[int]]:
        """Each server's process and everything below it (the agent's sandboxes, Postgres's backends)."""
        groups = {c.name: [c.pid, *descendants(c.pid)] for c in self.children}
        for name, server in (("postgres", self.postgres), ("redis", self.redis)):
            if server is not None and server.pid is not None:
                groups[name] = [server.pid, *descendants(server.pid)]
        groups["bench client"] = [os.getpid()]
        return groups

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of the API, the scheduler and the agent processes themselves (not children)."""
        return {child.name: process_rss_mib([child.pid]) for child in self.children if child.alive()}

    def close(self) -> None:
        """Agent first (it drains its containers), then scheduler, API, Redis, Postgres."""
        # The agent's sandboxes, noted before it stops: one it failed to stop is still ours to kill.
        sandboxes = [pid for child in self.children if child.name == "agent" for pid in descendants(child.pid)]
        for child in reversed(self.children):
            child.stop(30.0 if child.name == "agent" else 15.0)
        for pid in set(sandboxes) & set(sandbox_pids()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def close_uninterrupted(self) -> None:
        """`close`, with Ctrl-C and SIGTERM ignored meanwhile: a second one must not leave processes behind."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self.close()
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def deploy(stack: Stack, app: str, source: str, manifest: str) -> None:
    """Deploys a bundle of one `app.py` and its manifest as `app`."""
    answer = httpx.post(
        f"{stack.url}/v1/apps/{app}/deployments",
        content=make_bundle({"app.py": source}, manifest),
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=60,
    )
    if answer.status_code not in (200, 201):
        raise BenchError(f"deploy answered {answer.status_code}: {answer.text[:500]}")


def interrupt_on_sigterm() -> None:
    """SIGTERM and Ctrl-C both end a bench through its `finally`, which stops every process it started."""

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`cmd &`)


def process_rss_mib(pids: list[int]) -> float:
    """Resident memory of these processes together (those that have exited count no more)."""
    kib = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, StopIteration):
            status = Path(f"/proc/{pid}/status").read_text()
            kib += int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])
    return kib / 1024
