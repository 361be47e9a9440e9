"""Throughput over real processes: no-op calls per second on a warm pool, with the same stack as
`core_loop.py` (Postgres with fsync, Redis, the API, the scheduler and one agent).

    .venv/bin/python bench/throughput.py [--calls 5000] [--clients 32] [--map-inputs 5000] [--runs 3] [--json FILE]

Two ways in, each timed once per run, the runs one after another:

- concurrent clients: `--clients` tasks of one asyncio client (keep-alive connections, one each),
  each submitting a call without waiting (`POST …/calls`, answered 202) and then waiting for its
  result (`GET /v1/calls/{id}/result?wait=10`) before the next, until `--calls` have ended;
- `map`: the SDK's `Function.map` of `--map-inputs` inputs (one request per 1,000 inputs, then
  `POST /v1/calls/wait` for their results).

The function may run in up to `--containers` containers; untimed calls of the clients and one map grow
the pool first. Prints calls per second, the median of the runs and their spread, and the CPU time per
call of each process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fan_out import timed_map
from report import Header, Runs, table, write_json
from stack import BenchError, Stack, cpu_seconds, deploy, interrupt_on_sigterm, log

import skiff

APP = "throughput"
SOURCE = "def noop(x):\n    return x\n"
MANIFEST = """
[functions.noop]
handler = "app:noop"
max_containers = {containers}
scaledown_window = 600
cpu = 0.25
memory = 128
"""
T = TypeVar("T")
CLIENTS_ROW = "{clients} clients: POST …/calls (202), then GET …/result?wait=10"
MAP_ROW = "the SDK's map"


class Connection:
    """One client's keep-alive HTTP/1.1 connection to the API: one request at a time, JSON both ways.

    Not httpx: its pooled AsyncClient spent about 8 ms of CPU per call (two requests) with 32
    connections here, more than the API, on a machine of 2 cores that both share.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str) -> None:
        self.reader, self.writer = reader, writer
        self.head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"

    @classmethod
    async def open(cls, url: str, token: str) -> Connection:
        parsed = urlsplit(url)
        assert parsed.hostname is not None and parsed.port is not None
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        return cls(reader, writer, parsed.netloc, token)

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The status and the JSON body of the answer."""
        head = f"{method} {path} HTTP/1.1\r\n{self.head}"
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise BenchError(f"{method} {path} answered {status} without a Content-Length")
        return status, json.loads(await self.reader.readexactly(length)) if length else None

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def client(stack: Stack, inputs: Iterator[int], containers: set[str]) -> None:
    """One client: submit, wait for the result, check it, next; until the shared inputs run out."""
    connection = await Connection.open(stack.url, stack.token)
    try:
        for x in inputs:
            status, body = await connection.request("POST", f"/v1/apps/{APP}/functions/noop/calls", {"args": [x]})
            if status != 202:
                raise BenchError(f"a call answered {status}, not 202: {str(body)[:300]}")
            status, body = await connection.request("GET", f"/v1/calls/{body['id']}/result?wait=10")
            if status != 200 or body["status"] != "succeeded" or body["result"] != x:
                raise BenchError(f"a call's result answered {status}: {str(body)[:300]}")
            containers.add(body["container_id"])
    finally:
        await connection.close()


async def concurrent_calls(stack: Stack, calls: int, clients: int) -> tuple[float, set[str]]:
    """Seconds until `calls` calls have ended from `clients` concurrent clients, and the containers
    that ran them."""
    containers: set[str] = set()
    inputs = iter(range(calls))  # shared: each client takes the next input when it is free
    begun = time.perf_counter()
    await asyncio.gather(*(client(stack, inputs, containers) for _ in range(clients)))
    return time.perf_counter() - begun, containers


def with_cpu_per_call(stack: Stack, calls: int, work: Callable[[], T]) -> tuple[T, dict[str, float]]:
    """What `work` returns, and the CPU ms per call of each process (with its children) while it ran."""
    before = {name: cpu_seconds(pids) for name, pids in stack.process_groups().items()}
    done = work()
    after = {name: cpu_seconds(pids) for name, pids in stack.process_groups().items()}
    return done, {name: 1000 * (after[name] - before.get(name, 0.0)) / calls for name in after}


def measure(stack: Stack, options: argparse.Namespace) -> dict[str, Any]:
    deploy(stack, APP, SOURCE, MANIFEST.format(containers=options.containers))
    os.environ["SKIFF_URL"], os.environ["SKIFF_TOKEN"] = stack.url, stack.token
    fn = skiff.Function.from_name(APP, "noop")
    # Warm-up: the pool grows to what the clients keep busy, and the SDK's map runs once.
    took, containers = asyncio.run(concurrent_calls(stack, options.warmup, options.clients))
    log(f"warm-up: {options.warmup} calls in {took:.1f} s, {len(containers)} containers")
    timed_map(fn, min(options.map_inputs, 1000))

    rates: dict[str, list[float]] = {"clients": [], "map": []}
    cpu: dict[str, list[dict[str, float]]] = {"clients": [], "map": []}
    served_by: set[str] = set()
    for run in range(options.runs):
        (took, containers), used = with_cpu_per_call(
            stack, options.calls, lambda: asyncio.run(concurrent_calls(stack, options.calls, options.clients))
        )
        served_by.update(containers)
        rates["clients"].append(options.calls / took)
        cpu["clients"].append(used)
        took, used = with_cpu_per_call(stack, options.map_inputs, lambda: timed_map(fn, options.map_inputs))
        rates["map"].append(options.map_inputs / took)
        cpu["map"].append(used)
        log(f"run {run + 1} of {options.runs}: clients {rates['clients'][-1]:.0f}/s, map {rates['map'][-1]:.0f}/s")
    return {"rates": rates, "cpu": cpu, "containers": len(served_by)}


def median_cpu(samples: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in samples) for name in samples[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls of the concurrent clients, per run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--map-inputs", type=int, default=5000, help="inputs of one map, per run")
    parser.add_argument("--containers", type=int, default=8, help="the function's max_containers")
    parser.add_argument("--warmup", type=int, default=500, help="untimed calls of the clients first")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep-state", action="store_true", help="keep the state directory (logs) afterwards")
    options = parser.parse_args()
    header = Header()
    interrupt_on_sigterm()
    state = Path(tempfile.mkdtemp(prefix="skiff-throughput-"))
    state.chmod(0o755)  # Postgres runs as its own user and must reach it
    stack = Stack(state)
    try:
        stack.start(log)
        result = measure(stack, options)
    except KeyboardInterrupt:
        print("interrupted; every process was stopped", file=sys.stderr)
        return 130
    except (BenchError, OSError, asyncio.IncompleteReadError) as exc:
        print(f"bench failed: {exc!r}\n(logs in {state}; rerun with --keep-state to keep them)", file=sys.stderr)
        return 1
    finally:
        stack.close_uninterrupted()
        if not options.keep_state:
            shutil.rmtree(state, ignore_errors=True)

    rates = {key: Runs(values) for key, values in result["rates"].items()}
    cpu = {key: median_cpu(samples) for key, samples in result["cpu"].items()}
    names = {"clients": CLIENTS_ROW.format(clients=options.clients), "map": MAP_ROW}
    sizes = {"clients": options.calls, "map": options.map_inputs}
    print(header.text())
    print(
        f"No-op calls on a warm pool (max_containers {options.containers}; the clients' calls ran in "
        f"{result['containers']} containers), {options.runs} runs: the median, then the lowest and highest run\n"
    )
    print(table(["figure", "calls per run", "calls/s"], [[names[k], f"{sizes[k]:,}", rates[k].text()] for k in rates]))
    print("\nCPU ms per call, by process with its children (median of the runs):\n")
    processes = list(cpu["clients"])
    print(
        table(
            ["way in", *processes],
            [[names[k], *(f"{cpu[k][name]:.2f}" for name in processes)] for k in cpu],
        )
    )
    write_json(
        options.json,
        header.document(
            options=vars(options) | {"json": str(options.json)},
            containers=result["containers"],
            figures={
                "clients_calls_per_s": {"name": names["clients"], **rates["clients"].summary()},
                "map_calls_per_s": {"name": names["map"], **rates["map"].summary()},
            },
            cpu_ms_per_call=cpu,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
