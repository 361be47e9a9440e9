"""Cold start of a sandboxed container: spawn -> ready -> first result for a no-op function.

    .venv/bin/python bench/cold_start.py [--runs 30] [--python /usr/bin/python3]

Prints the bare interpreter and bare bwrap start as baselines, then a fresh sandbox per container
and a container forked from a warm zygote (agent.zygote_pool), each run as the agent's own user and
as an unprivileged host user of the sandbox range (what an agent run as root does; the runtime's
files staged as the agent stages them). Needs root and bubblewrap.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent import runtime_files
from agent.container import Container, ContainerSpec, Input
from agent.runtime_files import RuntimeFiles
from agent.sandbox import users
from agent.zygote_pool import ZygotePool


def timed_ms(argv: list[str]) -> float:
    begun = time.perf_counter()
    subprocess.run(argv, check=True, env={})
    return (time.perf_counter() - begun) * 1000


@dataclass(frozen=True)
class RunAs:
    """Whom the sandboxes run as: the agent's own user (None), or a host uid with staged runtime files."""

    uid: int | None = None
    files: RuntimeFiles = field(default_factory=runtime_files.installed)


def spec_for(bundle: Path, python: Path, zygote: bool, run_as: RunAs) -> ContainerSpec:
    return ContainerSpec(
        f"bench-{uuid.uuid4().hex[:12]}",
        bundle,
        "fn:main",
        python=python,
        zygote=zygote,
        run_as_uid=run_as.uid,
        runtime_files=run_as.files,
    )


async def container_ms(bundle: Path, python: Path, run_as: RunAs) -> tuple[float, float]:
    container = Container(spec_for(bundle, python, zygote=False, run_as=run_as))
    begun = time.perf_counter()
    await container.start()
    ready = time.perf_counter()
    await container.run(Input("1", b"{}"))
    first = time.perf_counter()
    await container.shutdown()
    return (ready - begun) * 1000, (first - begun) * 1000


async def forked_ms(pool: ZygotePool, bundle: Path, python: Path, run_as: RunAs) -> tuple[float, float]:
    begun = time.perf_counter()
    container = await pool.start_container("bench", spec_for(bundle, python, zygote=True, run_as=run_as))
    ready = time.perf_counter()
    await container.run(Input("1", b"{}"))
    first = time.perf_counter()
    await container.shutdown()
    return (ready - begun) * 1000, (first - begun) * 1000


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    print(f"{name:<38} median {statistics.median(samples):6.1f} ms   p90 {p90:6.1f} ms   (n={len(samples)})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--python", type=Path, default=Path("/usr/bin/python3"))
    options = parser.parse_args()
    python = str(options.python)
    bwrap = ["/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64", "/lib64"]
    bwrap += ["--symlink", "usr/lib", "/lib", "--"]
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder)
        bundle.chmod(0o755)  # the sandbox's user must reach it
        (bundle / "fn.py").write_text("def main():\n    return None\n")
        (bundle / "fn.py").chmod(0o644)
        others = RunAs(users.DEFAULT_FIRST_UID, runtime_files.stage(bundle / "runtime"))
        results = await measure(bundle, options, {"": RunAs(), "other": others})
    report(f"{python} -I -S -c pass", [timed_ms([python, "-I", "-S", "-c", "pass"]) for _ in range(options.runs)])
    report("bwrap + same", [timed_ms([*bwrap, python, "-I", "-S", "-c", "pass"]) for _ in range(options.runs)])
    for name, (fresh, zygote_start, forked) in results.items():
        who = "as the agent's user" if not name else f"as host uid {users.DEFAULT_FIRST_UID}"
        print(f"-- {who}")
        report("fresh sandbox: spawn -> ready", [ready for ready, _ in fresh])
        report("fresh sandbox: spawn -> first result", [first for _, first in fresh])
        print(f"{'zygote start + first fork -> result':<38} {zygote_start:6.1f} ms (once per function version)")
        report("warm zygote: fork -> ready", [ready for ready, _ in forked])
        report("warm zygote: fork -> first result", [first for _, first in forked])


Samples = list[tuple[float, float]]


async def measure(
    bundle: Path, options: argparse.Namespace, sides: dict[str, RunAs]
) -> dict[str, tuple[Samples, float, Samples]]:
    """Per side: (fresh starts, the zygote's start with its first fork, forked starts); the sides'
    starts alternate, so that a spell of the machine weighs on both alike."""
    pools = {name: ZygotePool(fresh_while_warming=False) for name in sides}  # the fork figures: every start forks
    fresh: dict[str, Samples] = {name: [] for name in sides}
    forked: dict[str, Samples] = {name: [] for name in sides}
    zygote_start: dict[str, float] = {}
    try:
        for run_as in sides.values():
            await container_ms(bundle, options.python, run_as)  # warm-up: compiles the runtime's .pyc once
        for _ in range(options.runs):
            for name, run_as in sides.items():
                fresh[name].append(await container_ms(bundle, options.python, run_as))
        for name, run_as in sides.items():
            begun = time.perf_counter()
            await forked_ms(pools[name], bundle, options.python, run_as)  # starts the zygote
            zygote_start[name] = (time.perf_counter() - begun) * 1000
        for _ in range(options.runs):
            for name, run_as in sides.items():
                forked[name].append(await forked_ms(pools[name], bundle, options.python, run_as))
    finally:
        for pool in pools.values():
            await pool.close()
    return {name: (fresh[name], zygote_start[name], forked[name]) for name in sides}


if __name__ == "__main__":
    asyncio.run(main())
