"""Finding our processes again through pidfiles and /proc, and recognising each component."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from skiff.local.components import is_postgres_of, is_redis_on, started_as_module
from skiff.local.procfs import cmdline, is_running, read_pidfile, terminate, write_pidfile


def test_pidfile_round_trip_and_garbage(tmp_path: Path) -> None:
    write_pidfile(tmp_path / "api.pid", 4242)
    assert read_pidfile(tmp_path / "api.pid") == 4242
    (tmp_path / "bad.pid").write_text("not a pid\n")
    assert read_pidfile(tmp_path / "bad.pid") is None
    assert read_pidfile(tmp_path / "missing.pid") is None


def test_cmdline_of_a_live_process_and_of_a_zombie() -> None:
    code = "import time; print('ready', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"  # exec is done
        assert cmdline(child.pid) == [sys.executable, "-c", code]
        assert is_running(child.pid)
        assert terminate(child.pid, 15, timeout=10)  # gone even before we reap it: a zombie is not running
        assert cmdline(child.pid) is None
    finally:
        child.kill()
        child.wait()
    assert not is_running(child.pid)


def test_terminate_escalates_to_sigkill() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        assert terminate(child.pid, 15, timeout=0.3)
        assert child.wait(5) == -9
    finally:
        child.kill()
        child.wait()


def test_components_are_recognised_by_their_command_lines(tmp_path: Path) -> None:
    assert started_as_module(["/v/bin/python3", "-m", "agent", "--api", "x"], "agent")
    assert not started_as_module(["/v/bin/python3", "-m", "api", "serve"], "agent")
    assert not started_as_module(["/usr/bin/vim", "agent"], "agent")
    data = tmp_path / "postgres" / "data"
    assert is_postgres_of(["/usr/lib/postgresql/15/bin/postgres", "-D", str(data), "-p", "5"], data)
    assert not is_postgres_of(["/usr/lib/postgresql/15/bin/postgres", "-D", "/elsewhere"], data)
    assert is_redis_on(["/usr/bin/redis-server 127.0.0.1:6390"], 6390)
    assert not is_redis_on(["/usr/bin/redis-server 127.0.0.1:6391"], 6390)
    assert not is_redis_on([sys.executable, str(os.getpid())], 6390)
