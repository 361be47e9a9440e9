"""`skiff up`: Postgres, Redis, the API, the scheduler and one agent on this machine, supervised.

They start in that order and stop in the reverse one, on SIGINT, SIGTERM or SIGHUP, or as soon as
one of them dies. The supervisor holds a lock on the state directory while it runs; the next run
stops whatever a killed supervisor left behind (found through the pidfiles) before starting.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from rich.console import Console

from skiff.config import DEFAULT_PROFILE, ConfigError, Profile, config_path, save_profile
from skiff.local import provisioning
from skiff.local.components import ServerComponent, is_postgres_of, is_redis_on, started_as_module
from skiff.local.procfs import cmdline, kill_group, read_pidfile, terminate, write_pidfile
from skiff.local.provisioning import ProvisioningError
from skiff.local.services import ChildProcess, PostgresServer, RedisServer, ServiceError, free_port, port_open
from skiff.local.state import StateDir, WorkspaceCredentials

STOP_ORDER = ("agent", "scheduler", "api", "redis", "postgres")
STOP_SIGNALS = {"postgres": signal.SIGINT}  # Postgres's "fast" shutdown; the others stop on SIGTERM
STOP_TIMEOUT_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 90.0
DEFAULT_WORKSPACE = "default"
LOG_TAIL_LINES = 20
# An agent talks to the API only: it never holds database, Redis or blob store credentials.
WITHHELD_FROM_AGENT = (
    "SKIFF_DATABASE_URL",
    "SKIFF_REDIS_URL",
    "SKIFF_BLOB_URL",
    "SKIFF_SECRET_KEYS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


class StopRequested(Exception):
    """A stop signal arrived: stop what was started and exit cleanly."""


class ComponentDied(StackError):
    def __init__(self, child: ChildProcess, code: int) -> None:
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        lines = child.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        super().__init__(
            f"{child.name} {how}; last lines of {child.log_path}:\n" + "\n".join(f"  {line}" for line in lines)
        )


@dataclass(frozen=True)
class Running:
    """What a user needs to reach the stack."""

    url: str
    credentials: WorkspaceCredentials


class LocalStack:
    def __init__(
        self, state: StateDir, api_port: int, console: Console, errors: Console, *, json_output: bool = False
    ) -> None:
        self.state = state
        self.requested_port = api_port
        self.console = console
        self.errors = errors
        self.json_output = json_output  # when ready: one JSON line on stdout; progress goes to `console`
        self.children: list[ChildProcess] = []  # in start order
        self.stop_signal: int | None = None
        self.started_at = time.monotonic()

    def run(self) -> int:
        """Start everything, supervise until told to stop or a process dies; returns the exit code."""
        try:
            self.state.create()
            with self._exclusive(), self._stop_signals():
                return self._run_supervised()
        except (StackError, OSError) as exc:
            self._fail(exc)
            return 1

    def _run_supervised(self) -> int:
        try:
            self._stop_leftovers()
            running = self._start()
            self._announce(running)
            self._supervise()
        except StopRequested:
            return 0
        except (StackError, ServiceError, ProvisioningError, ConfigError) as exc:
            if self.stop_signal is not None:
                return 0  # a step that failed because the same Ctrl-C reached it too
            self._fail(exc)
            return 1
        finally:
            self._stop_all()
        return 0

    # --- starting ---------------------------------------------------------------------------

    def _start(self) -> Running:
        ports = self._service_ports()
        database_url = os.environ.get("SKIFF_DATABASE_URL") or self._start_postgres(ports["postgres"])
        redis_url = os.environ.get("SKIFF_REDIS_URL") or self._start_redis(ports["redis"])
        server_env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SKIFF_DATABASE_URL": database_url,
            "SKIFF_REDIS_URL": redis_url,
            "SKIFF_BLOB_URL": os.environ.get("SKIFF_BLOB_URL") or f"file://{self.state.blobs}",
            "SKIFF_SECRET_KEYS": os.environ.get("SKIFF_SECRET_KEYS") or self.state.secret_keys(),
        }
        self._checkpoint()
        self._say("migrating the database")
        provisioning.migrate(server_env, self.state.log("migrate"))
        credentials = self.state.workspace()
        if credentials is None:
            self._checkpoint()
            self._say(f"creating workspace {DEFAULT_WORKSPACE!r} and its admin token")
            credentials = provisioning.bootstrap(server_env, self.state.log("migrate"), DEFAULT_WORKSPACE)
            self.state.save_workspace(credentials)

        host, port = self._api_address(server_env.get("SKIFF_HOST") or "127.0.0.1")
        url = f"http://{host}:{port}"
        self._start_server("api", ["serve"], {**server_env, "SKIFF_PORT": str(port)})
        provisioning.wait_ready(url, READY_TIMEOUT_SECONDS, self._check)
        provisioning.check_admin_token(url, credentials.token)
        node_token = self.state.node_token()
        if node_token is None:
            self._say("creating the agent's node token")
            node_token = provisioning.create_node_token(url, credentials.token)
            self.state.save_node_token(node_token)

        self._start_server("scheduler", [], server_env)
        agent_env = {k: v for k, v in server_env.items() if k not in WITHHELD_FROM_AGENT}
        agent_env["SKIFF_NODE_TOKEN"] = node_token  # not --token: a command line is readable by every user
        self._start_server("agent", ["--api", url, "--state-dir", str(self.state.agent)], agent_env)
        return Running(url=url, credentials=credentials)

    def _service_ports(self) -> dict[str, int]:
        """Ports chosen on the first run (SKIFF_PG_PORT / SKIFF_REDIS_PORT, else free ones), then reused."""
        remembered = self.state.ports()
        ports: dict[str, int] = {}
        for name, variable in (("postgres", "SKIFF_PG_PORT"), ("redis", "SKIFF_REDIS_PORT")):
            chosen = int(os.environ.get(variable) or remembered.get(name) or 0)
            while not chosen or chosen in ports.values():
                chosen = free_port()
            ports[name] = chosen
        self.state.save_ports(ports)
        return ports

    def _start_postgres(self, port: int) -> str:
        server = PostgresServer(
            name="postgres",
            log_path=self.state.log("postgres"),
            pidfile=self.state.pidfile("postgres"),
            data_dir=self.state.postgres_data,
            port=port,
        )
        self._say(f"starting postgres on 127.0.0.1:{port}")
        self.children.append(server)
        server.start()
        return server.url

    def _start_redis(self, port: int) -> str:
        server = RedisServer(
            name="redis",
            log_path=self.state.log("redis"),
            pidfile=self.state.pidfile("redis"),
            data_dir=self.state.redis_data,
            port=port,
        )
        self._say(f"starting redis on 127.0.0.1:{port}")
        self.children.append(server)
        server.start()
        return server.url

    def _start_server(self, module: str, args: list[str], env: dict[str, str]) -> None:
        self._checkpoint()
        self._say(f"starting {module}")
        component = ServerComponent(
            name=module,
            log_path=self.state.log(module),
            pidfile=self.state.pidfile(module),
            module=module,
            args=args,
            env=env,
        )
        self.children.append(component)
        component.start()

    def _api_address(self, bind_host: str) -> tuple[str, int]:
        """Where clients reach the API: the requested port, or a free one when it is taken."""
        host = "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host  # noqa: S104 - comparing
        if self.requested_port and not port_open(self.requested_port, host):
            return host, self.requested_port
        port = free_port()
        if self.requested_port:
            self._say(f"port {self.requested_port} is in use; the API listens on {port} instead")
        return host, port

    def _announce(self, running: Running) -> None:
        token = running.credentials.token
        path = config_path()
        active = save_profile(
            DEFAULT_PROFILE,
            Profile(url=running.url, token=token, workspace=running.credentials.workspace),
            path,
        )
        profile_note = f'profile "{DEFAULT_PROFILE}"'
        if active != DEFAULT_PROFILE:
            profile_note += f'; the active profile stays "{active}"'
        elapsed = time.monotonic() - self.started_at
        if self.json_output:
            ready = {
                "url": running.url,
                "workspace": running.credentials.workspace,
                "token": token,
                "config": str(path),
                "profile": DEFAULT_PROFILE,
                "active_profile": active,
                "state_dir": str(self.state.root),
                "logs_dir": str(self.state.logs),
                "pid": os.getpid(),
                "ready_seconds": round(elapsed, 1),
            }
            sys.stdout.write(json.dumps(ready) + "\n")  # the one line scripts read: never wrapped by rich
            sys.stdout.flush()
            return
        self.console.print(
            f"\n[bold green]Skiff is up[/] at [bold]{running.url}[/] (ready in {elapsed:.1f}s)\n"
            f"  workspace  {running.credentials.workspace}\n"
            f"  token      {token}\n"
            f"  config     {path} ({profile_note})\n"
            f"  state      {self.state.root} (logs in {self.state.logs})\n",
            highlight=False,
        )
        self.console.print("Try it:")
        curl = f'curl -H "Authorization: Bearer {token}" {running.url}/v1/workspace'
        self.console.print(curl, soft_wrap=True, markup=False, highlight=False)  # copied verbatim: never wrapped
        self.console.print(f"\nStop with Ctrl-C (or: kill {os.getpid()}).", highlight=False)

    # --- supervising and stopping -----------------------------------------------------------

    def _supervise(self) -> None:
        while True:
            self._check()
            time.sleep(0.25)

    def _check(self) -> None:
        """Raise when a stop was requested or a started process has exited."""
        self._checkpoint()
        for child in self.children:
            code = child.poll()
            if code is not None:
                raise ComponentDied(child, code)

    def _checkpoint(self) -> None:
        if self.stop_signal is not None:
            raise StopRequested

    def _stop_all(self) -> None:
        for child in reversed(self.children):
            if child.pid is None:
                continue
            if child.poll() is None:
                self._say(f"stopping {child.name}")
            child.stop(STOP_SIGNALS.get(child.name, signal.SIGTERM), STOP_TIMEOUT_SECONDS)
            kill_group(child.pid)  # its session: anything it started and left behind
        self.children.clear()

    def _stop_leftovers(self) -> None:
        """Stop the processes an earlier, killed supervisor left running, if they are still ours."""
        redis_port = self.state.ports().get("redis")
        for name in STOP_ORDER:
            pidfile = self.state.pidfile(name)
            candidates = [read_pidfile(pidfile)]
            if name == "postgres":
                candidates.append(read_pidfile(self.state.postgres_data / "postmaster.pid"))
            for pid in {pid for pid in candidates if pid is not None}:
                argv = cmdline(pid)
                if argv is None or not self._is_ours(name, argv, redis_port):
                    continue
                self._say(f"stopping {name} (pid {pid}), left running by an earlier skiff up")
                if not terminate(pid, STOP_SIGNALS.get(name, signal.SIGTERM), STOP_TIMEOUT_SECONDS):
                    raise StackError(f"{name} (pid {pid}) does not stop; stop it by hand, then run again")
                kill_group(pid)
            pidfile.unlink(missing_ok=True)

    def _is_ours(self, name: str, argv: list[str], redis_port: int | None) -> bool:
        if name == "postgres":
            return is_postgres_of(argv, self.state.postgres_data)
        if name == "redis":
            return redis_port is not None and is_redis_on(argv, redis_port)
        return started_as_module(argv, name)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One supervisor per state directory, released by the kernel however this process ends."""
        with self.state.lock_file.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = read_pidfile(self.state.pidfile("supervisor"))
                raise StackError(
                    f"skiff up is already running with state directory {self.state.root}"
                    + (f" (pid {other}); stop it with: kill {other}" if other else "")
                ) from None
            write_pidfile(self.state.pidfile("supervisor"), os.getpid())
            try:
                yield
            finally:
                self.state.pidfile("supervisor").unlink(missing_ok=True)

    @contextmanager
    def _stop_signals(self) -> Iterator[None]:
        # The handler only records the signal: startup steps and the supervise loop check it between
        # steps, so a process is never half-started when we begin stopping.
        def record(signum: int, _frame: FrameType | None) -> None:
            self.stop_signal = signum

        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signum: signal.signal(signum, record) for signum in handled}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _fail(self, error: Exception) -> None:
        self.errors.print(f"skiff up: {error}", markup=False, highlight=False, soft_wrap=True)

    def _say(self, message: str) -> None:
        self.console.print(f"[dim]•[/] {message}", highlight=False)
