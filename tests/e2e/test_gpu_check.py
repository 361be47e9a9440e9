"""bench/gpu_check.py is run on lent GPU nodes, rarely and with little time: here its harness runs with a
CPU function in place of the torch one (`--cpu`), so that a change elsewhere cannot break it unseen. The
GPU itself (NVML, CUDA in the sandbox, memory released) is checked only on such a node."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CHECK = ROOT / "bench" / "gpu_check.py"


def test_without_a_gpu_the_check_says_so_and_exits_cleanly() -> None:
    if Path("/dev/nvidiactl").exists():
        pytest.skip("this machine has an NVIDIA GPU: the check would run")
    done = subprocess.run([sys.executable, str(CHECK)], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "no NVIDIA GPU on this machine (NVML found none): nothing to check\n")


def test_the_checks_steps_pass_with_a_cpu_function() -> None:
    if os.geteuid() != 0 or shutil.which("bwrap") is None:
        pytest.skip("the check runs an agent: root and bubblewrap")
    done = subprocess.run(
        [sys.executable, str(CHECK), "--cpu", "--runs", "2"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = {line.split(" | ")[0].strip("| "): line for line in done.stdout.splitlines() if line.startswith("| ")}
    steps = (
        "fully cold ≤ bare process + 0.5 s",
        "zygote-warm call ≤ 1 s",
        "no sandbox process left",
        "no cgroup of its containers or zygotes left",
    )  # not "the API shows the GPUs its container holds": without a GPU it compares [] with []
    for step in (*steps, "its cgroup's memory limit is the function's (host view)"):
        assert rows[step].endswith("| ok |"), rows[step]
    assert "succeeded, attempt 2 | ok" in rows["the killed call's retry succeeds"]
    killed = next(row for name, row in rows.items() if name.startswith("agent killed: its sandbox exits"))
    assert killed.endswith("| ok |"), killed
    assert "unprivileged host users" in rows["sandbox users (the agent's log)"]
