"""How long moving a process into a fresh cgroup takes after an idle spell: the one move a cold start
makes (a sandbox's pid 1, or a child forked from a zygote).

    .venv/bin/python bench/cgroup_move.py [--runs 6] [--idle 2.5]

Prints whether the kernel's `favordynmods` is on (some cgroup mount carries it: the agent turns it on
at start, agent.sandbox.cgroups.favor_dynamic_moves), and the median of the moves. Without it a move
after an idle spell waits for an RCU grace period. Needs root and a cgroup v1 `pids` hierarchy, or v2.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.sandbox.cgroups import CGROUP_ROOT


def favordynmods_on() -> bool:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] in ("cgroup", "cgroup2") and "favordynmods" in fields[3].split(","):
            return True
    return False


def parent() -> Path:
    pids = CGROUP_ROOT / "pids"
    return (pids if pids.is_dir() else CGROUP_ROOT) / "skiff"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--idle", type=float, default=2.5, help="seconds without a cgroup move before each")
    options = parser.parse_args()
    root = parent()
    root.mkdir(exist_ok=True)
    samples = []
    for _ in range(options.runs):
        group = root / f"bench-move-{uuid.uuid4().hex[:8]}"
        group.mkdir()
        sleeper = subprocess.Popen(["sleep", "60"])
        try:
            time.sleep(options.idle)
            begun = time.perf_counter()
            (group / "cgroup.procs").write_text(str(sleeper.pid))
            samples.append((time.perf_counter() - begun) * 1000)
        finally:
            sleeper.kill()
            sleeper.wait()
            for _ in range(100):  # the cgroup empties once the killed process is reaped
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)
    state = "on" if favordynmods_on() else "off"
    print(f"favordynmods {state}: move after {options.idle:g} s idle, median {statistics.median(samples):.2f} ms")
    print("runs (ms): " + " ".join(f"{s:.2f}" for s in samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
