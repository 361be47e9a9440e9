"""Cold start of a sandboxed container: spawn -> ready -> first result for a no-op function.

    .venv/bin/python bench/cold_start.py [--runs 20] [--python /usr/bin/python3]

Prints the bare interpreter and bare bwrap start as baselines. Needs root and bubblewrap.
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


def timed_ms(argv: list[str]) -> float:
    begun = time.perf_counter()
    subprocess.run(argv, check=True, env={})
    return (time.perf_counter() - begun) * 1000


async def container_ms(bundle: Path, python: Path) -> tuple[float, float]:
    container = Container(ContainerSpec(f"bench-{uuid.uuid4().hex[:12]}", bundle, "fn:main", python=python))
    begun = time.perf_counter()
    await container.start()
    ready = time.perf_counter()
    await container.run(Input("1", b"{}"))
    first = time.perf_counter()
    await container.shutdown()
    return (ready - begun) * 1000, (first - begun) * 1000


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    print(f"{name:<34} median {statistics.median(samples):6.1f} ms   p90 {p90:6.1f} ms   (n={len(samples)})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--python", type=Path, default=Path("/usr/bin/python3"))
    options = parser.parse_args()
    python = str(options.python)
    bwrap = ["/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64", "/lib64"]
    bwrap += ["--symlink", "usr/lib", "/lib", "--"]
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder)
        (bundle / "fn.py").write_text("def main():\n    return None\n")
        await container_ms(bundle, options.python)  # warm-up: compiles the runtime's .pyc once
        results = [await container_ms(bundle, options.python) for _ in range(options.runs)]
    report(f"{python} -I -S -c pass", [timed_ms([python, "-I", "-S", "-c", "pass"]) for _ in range(options.runs)])
    report("bwrap + same", [timed_ms([*bwrap, python, "-I", "-S", "-c", "pass"]) for _ in range(options.runs)])
    report("container spawn -> ready", [ready for ready, _ in results])
    report("container spawn -> first result", [first for _, first in results])


if __name__ == "__main__":
    asyncio.run(main())
