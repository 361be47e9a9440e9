"""Cold start of a sandboxed container: spawn -> ready -> first result for a no-op function.

    .venv/bin/python bench/cold_start.py [--runs 30] [--python /usr/bin/python3]

Prints the bare interpreter and bare bwrap start as baselines, then a fresh sandbox per container
and a container forked from a warm zygote (agent.zygote_pool). Needs root and bubblewrap.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.container import Container, ContainerSpec, Input
from agent.zygote_pool import ZygotePool


def timed_ms(argv: list[str]) -> float:
    begun = time.perf_counter()
    subprocess.run(argv, check=True, env={})
    return (time.perf_counter() - begun) * 1000


def spec_for(bundle: Path, python: Path, zygote: bool) -> ContainerSpec:
    return ContainerSpec(f"bench-{uuid.uuid4().hex[:12]}", bundle, "fn:main", python=python, zygote=zygote)


async def container_ms(bundle: Path, python: Path) -> tuple[float, float]:
    container = Container(spec_for(bundle, python, zygote=False))
    begun = time.perf_counter()
    await container.start()
    ready = time.perf_counter()
    await container.run(Input("1", b"{}"))
    first = time.perf_counter()
    await container.shutdown()
    return (ready - begun) * 1000, (first - begun) * 1000


async def forked_ms(pool: ZygotePool, bundle: Path, python: Path) -> tuple[float, float]:
    begun = time.perf_counter()
    container = await pool.start_container("bench", spec_for(bundle, python, zygote=True))
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
    pool = ZygotePool(fresh_while_warming=False)  # the fork figures: every start forks
    try:
        with tempfile.TemporaryDirectory() as folder:
            bundle = Path(folder)
            (bundle / "fn.py").write_text("def main():\n    return None\n")
            await container_ms(bundle, options.python)  # warm-up: compiles the runtime's .pyc once
            fresh = [await container_ms(bundle, options.python) for _ in range(options.runs)]
            begun = time.perf_counter()
            await forked_ms(pool, bundle, options.python)  # starts the zygote
            zygote_start = (time.perf_counter() - begun) * 1000
            forked = [await forked_ms(pool, bundle, options.python) for _ in range(options.runs)]
    finally:
        await pool.close()
    report(f"{python} -I -S -c pass", [timed_ms([python, "-I", "-S", "-c", "pass"]) for _ in range(options.runs)])
    report("bwrap + same", [timed_ms([*bwrap, python, "-I", "-S", "-c", "pass"]) for _ in range(options.runs)])
    report("fresh sandbox: spawn -> ready", [ready for ready, _ in fresh])
    report("fresh sandbox: spawn -> first result", [first for _, first in fresh])
    print(f"{'zygote start + first fork -> result':<38} {zygote_start:6.1f} ms (once per function version)")
    report("warm zygote: fork -> ready", [ready for ready, _ in forked])
    report("warm zygote: fork -> first result", [first for _, first in forked])


if __name__ == "__main__":
    asyncio.run(main())
