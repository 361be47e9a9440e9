"""Postgres and Redis as child processes with their data in a local directory.

Used by `skiff up` and by the test harness. Postgres refuses to run as root, so when we are root
it runs as an unprivileged system user (`postgres` if the distribution made one, else `skiff`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from skiff.local.procfs import write_pidfile

READY_TIMEOUT_SECONDS = 60.0


class ServiceError(RuntimeError):
    """A local service could not be started; the message says what to fix."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def postgres_bindir() -> Path:
    """Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin."""
    if configured := os.environ.get("SKIFF_PG_BINDIR"):
        return Path(configured)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name),
        reverse=True,
    )
    if candidates:
        return candidates[0].parent
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise ServiceError("PostgreSQL server binaries not found: install Debian's `postgresql` or set SKIFF_PG_BINDIR")


def service_user() -> pwd.struct_passwd | None:
    """The account Postgres runs as: None when we are not root (it then runs as us)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "skiff"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "skiff"],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam("skiff")


def reachable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether `user` can traverse every parent of `path` (root's home usually is not)."""
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            continue
        if not st.st_mode & 0o001:
            return False
    return True


@dataclass
class ChildProcess:
    """A long-running child in a session of its own, its output appended to `log_path`."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    # Written as soon as the process exists, so a supervisor killed mid-start leaves it findable.
    pidfile: Path | None = field(default=None, kw_only=True)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _spawn(self, argv: list[str], user: pwd.struct_passwd | None, env: dict[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
                start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor, which stops us in order
            )
        if self.pidfile is not None:
            write_pidfile(self.pidfile, self.process.pid)

    def _wait_ready(self, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise ServiceError(f"{self.name} exited with {self.process.returncode} while starting:\n{tail}")
            if port_open(port):
                return
            time.sleep(0.05)
        raise ServiceError(f"{self.name} did not accept connections on port {port} within {READY_TIMEOUT_SECONDS}s")

    def poll(self) -> int | None:
        """The exit code once the process has ended (negative: killed by that signal), else None."""
        return self.process.poll() if self.process is not None else None

    def send_signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.process is None:
            return
        self.send_signal(signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.pidfile is not None:
            self.pidfile.unlink(missing_ok=True)


@dataclass
class PostgresServer(ChildProcess):
    """A Postgres cluster in `data_dir`, listening on 127.0.0.1:`port`, with a `skiff` database."""

    data_dir: Path = Path()
    port: int = 0
    durable: bool = True  # tests turn fsync off; a real run never does
    database: str = "skiff"
    user: str = "skiff"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        owner = service_user()
        bindir = postgres_bindir()
        self.port = self.port or free_port()
        if owner is not None and not reachable_by(owner, self.data_dir.parent):
            raise ServiceError(
                f"{self.data_dir} is not reachable by the `{owner.pw_name}` user Postgres runs as; "
                "choose a state directory outside root's home (SKIFF_STATE_DIR)"
            )
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bindir, owner)
        options = [
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
        ]
        if not self.durable:
            # Survives a crash of Postgres itself (the tests make some), not one of the machine.
            options += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        self._spawn([str(bindir / "postgres"), *options], owner)
        self._wait_ready(self.port)
        self._create_database(bindir, owner)

    def _initdb(self, bindir: Path, owner: pwd.struct_passwd | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if owner is not None:
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
            os.chown(self.data_dir.parent, owner.pw_uid, owner.pw_gid)
        result = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            user=owner.pw_uid if owner else None,
            group=owner.pw_gid if owner else None,
            extra_groups=[] if owner else None,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed: {result.stderr.strip()[-2000:]}")

    def _create_database(self, bindir: Path, owner: pwd.struct_passwd | None) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            result = subprocess.run(
                [
                    str(bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    self.database,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0 or "already exists" in result.stderr:
                return
            # After a crash Postgres first replays its WAL; it refuses connections until consistent.
            recovering = any(m in result.stderr for m in ("starting up", "not yet accepting connections"))
            if not recovering or time.monotonic() > deadline:
                raise ServiceError(f"createdb failed: {result.stderr.strip()}")
            time.sleep(0.1)

    def stop_immediately(self) -> None:
        """A crash as far as clients can tell (`pg_ctl stop -m immediate`)."""
        self.stop(signal.SIGQUIT)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30.0) -> None:
        # SIGINT is Postgres's "fast" shutdown: roll back clients, checkpoint, exit.
        super().stop(signum, timeout)


@dataclass
class RedisServer(ChildProcess):
    data_dir: Path = Path()
    port: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise ServiceError("redis-server not found: install Debian's `redis-server`")
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            None,
        )
        self._wait_ready(self.port)
