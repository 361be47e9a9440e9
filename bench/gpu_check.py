"""The GPU check for a node with an NVIDIA GPU: a torch function on the node's torch base, through the API.

    python3 bench/gpu_check.py [--runs 3]       # on the GPU node, through bench/gpu_node.sh
    .venv/bin/python bench/gpu_check.py --cpu   # the same steps with a CPU function: checks the harness

It starts the platform (bench/stack.py, the agent with `--base torch=<this Python>`), deploys a function
that does a 4096² bf16 matmul on its GPU, and measures: a call from fully cold (a fresh sandbox, the
environment cached), a call from zero containers with the zygote warm, warm calls, and a bare fresh
process doing the same work. It checks that the container sees only its GPU, that cancelling a call
that holds GPU memory frees it, that an agent killed while CUDA holds memory frees it and the call's
retry succeeds, and that the node ends with no sandbox process and no GPU memory in use. Without a
GPU (and without --cpu) it says so and exits 0. Needs root and bubblewrap.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack import BenchError, Stack, deploy, descendants, interrupt_on_sigterm, log, sandbox_pids

from agent.leftovers import zygote_prefix
from agent.sandbox.cgroups import container_parents
from tests.faults.leftovers import cgroups_named

APP = "gpucheck"
WORK = """
def work(n):
    import torch
    torch.manual_seed(0)
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    c = a @ a
    torch.cuda.synchronize()
    return torch.cuda.get_device_name(0), torch.cuda.device_count(), float(c.float().abs().sum())
"""
CPU_WORK = """
def work(n):
    return "cpu", 0, float(sum(range(n)))
"""
FUNCTIONS = """
import os, time

def matmul(n=4096):
    begun = time.perf_counter()
    name, count, checksum = work(n)
    devices = sorted(d for d in os.listdir("/dev") if d.startswith("nvidia"))
    listed = "/proc/driver/nvidia/gpus"
    driver_gpus = sorted(os.listdir(listed)) if os.path.isdir(listed) else None
    return {"device": name, "count": count, "checksum": checksum, "devices": devices, "driver_gpus": driver_gpus,
            "visible": os.environ.get("CUDA_VISIBLE_DEVICES"), "seconds": time.perf_counter() - begun}

def fresh(n=4096):
    return matmul(n)

def hold(seconds, gib=8):
    try:
        import torch
        block = torch.ones(gib << 30, dtype=torch.uint8, device="cuda")
        torch.cuda.synchronize()
    except ImportError:
        block = None
    time.sleep(seconds)
    return gib
"""
GPU_MEMORY_MIB, CPU_MEMORY_MIB = 65536, 2048  # the functions' memory limits (--cpu: one a small machine has)
GPU_OPTIONS = f'base = "torch"\ngpu = "any"\nmemory = {GPU_MEMORY_MIB}\ntimeout = 300\nscaledown_window = 2\n'
CPU_OPTIONS = f'base = "torch"\nmemory = {CPU_MEMORY_MIB}\ntimeout = 300\nscaledown_window = 2\n'
MANIFEST = """
[functions.matmul]
handler = "app:matmul"
preload = {preload}
{options}
[functions.fresh]
handler = "app:fresh"
zygote = false
{options}
[functions.hold]
handler = "app:hold"
zygote = false
retries = 1
{options}"""
BARE = "import time; b = time.perf_counter()\n{work}\nprint(work(4096)[0])"
ZYGOTE_IDLE_S = 30  # longer than the windows the check waits out between its zygote-warm calls
GPU_MEMORY_SLACK_MIB = 256


@dataclass
class Check:
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # figure, value, target or expectation
    failures: list[str] = field(default_factory=list)

    def timing(self, name: str, samples: list[float], target: str = "") -> None:
        self.rows.append(
            (name, f"p50 {statistics.median(samples):.0f} ms (n={len(samples)}, max {max(samples):.0f})", target)
        )

    def expect(self, name: str, ok: bool, seen: object) -> None:
        self.rows.append((name, str(seen), "ok" if ok else "FAILED"))
        if not ok:
            self.failures.append(f"{name}: {seen}")


class Gpus:
    """GPU memory in use, through NVML (None on a machine without a GPU)."""

    def __init__(self) -> None:
        try:
            import pynvml  # nvidia-ml-py: only on GPU nodes

            pynvml.nvmlInit()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            self.nvml: Any = pynvml
        except Exception:  # no library, no driver, no device: all mean no GPU here
            self.handles = []

    def used_mib(self) -> float | None:
        if not self.handles:
            return None
        return sum(self.nvml.nvmlDeviceGetMemoryInfo(h).used for h in self.handles) / (1 << 20)


class Client:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=90)

    def call(self, function: str, *args: object) -> tuple[dict[str, Any], float]:
        begun = time.perf_counter()
        answer = self.http.post(
            f"/v1/apps/{APP}/functions/{function}/calls", json={"args": list(args)}, headers={"Prefer": "wait=60"}
        )
        body: dict[str, Any] = answer.json()
        while answer.status_code in (200, 202) and body.get("status") in ("queued", "running"):
            answer = self.http.get(f"/v1/calls/{body['id']}/result", params={"wait": 60})  # a first torch import
            body = answer.json()
        took = (time.perf_counter() - begun) * 1000
        if answer.status_code != 200 or body.get("status") != "succeeded":
            raise BenchError(f"{function} answered {answer.status_code}: {answer.text[:2000]}")
        return body, took

    def spawn(self, function: str, *args: object) -> str:
        answer = self.http.post(f"/v1/apps/{APP}/functions/{function}/calls", json={"args": list(args)})
        answer.raise_for_status()
        call_id: str = answer.json()["id"]
        return call_id

    def result(self, call_id: str, timeout: float) -> dict[str, Any]:
        """The call once it has ended (or as it is after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.http.get(f"/v1/calls/{call_id}/result", params={"wait": 30}).json()
            if body.get("status") not in ("queued", "running") or time.monotonic() > deadline:
                return body


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition` held; raises BenchError after `timeout`."""
    begun = time.monotonic()
    while not condition():
        if time.monotonic() - begun > timeout:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - begun


def ours(stack: Stack, *markers: str) -> list[int]:
    """Sandbox processes of this check's agent (not those of other agents on the machine, a test suite's)."""
    agents = [child.pid for child in stack.children if child.name == "agent" and child.alive()]
    below = {pid for agent in agents for pid in descendants(agent)}
    return [pid for pid in sandbox_pids(*markers) if pid in below]


def no_container_of(stack: Stack, function: str) -> Callable[[], bool]:
    """True once no process of `function`'s containers is left (its zygote may live on)."""
    return lambda: not [pid for pid in ours(stack, f"app:{function}") if in_container(pid)]


def in_container(pid: int) -> bool:
    """A fresh container's process, or a child forked from a zygote (it keeps the zygote's command line,
    but lives in a cgroup of its own container); not the zygote's own processes."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"'.zygote'" not in cmdline or "/ctr_" in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


def cold_calls(client: Client, function: str, runs: int) -> tuple[list[float], list[float]]:
    """Calls each made once the function's last container is gone: (totals, agent's cold_start_ms)."""
    totals, agent_ms = [], []
    while len(totals) < runs:
        wait_until(no_container_of(client.stack, function), 60, f"{function}'s containers to scale down")
        body, took = client.call(function)
        if body.get("cold_start"):
            totals.append(took)
            agent_ms.append(float(body.get("cold_start_ms") or 0))
    return totals, agent_ms


def run(options: argparse.Namespace, state: Path, gpus: Gpus, check: Check) -> None:
    work = CPU_WORK if options.cpu else WORK
    gpu_options = GPU_OPTIONS if not options.cpu else CPU_OPTIONS
    base = sys.prefix  # this Python (the node's, holding torch) is the functions' base environment
    os.environ |= {"SKIFF_LEASE_SECONDS": "5", "SKIFF_NODE_HEARTBEAT_TIMEOUT_SECONDS": "4"}
    os.environ |= {"SKIFF_NODE_HEARTBEAT_INTERVAL_SECONDS": "0.5"}
    stack = Stack(state, agent_args=["--zygote-idle-seconds", str(ZYGOTE_IDLE_S), "--base", f"torch={base}"])
    try:
        stack.start(log)
        preload = '["torch"]' if not options.cpu else "[]"
        deploy(stack, APP, FUNCTIONS + work, MANIFEST.format(preload=preload, options=gpu_options))
        client = Client(stack)
        idle_mib = gpus.used_mib()
        agent_log = stack.child("agent").tail(20_000).splitlines()
        said = [line for line in agent_log if "sandboxes run as" in line]
        check.rows.append(("sandbox users (the agent's log)", said[0][-300:] if said else "not said", ""))
        if not options.cpu:  # where GPU containers load libcuda.so.1 from
            said = [line for line in agent_log if "GPU driver libraries" in line or "libcuda.so.1 not found" in line]
            check.rows.append(("GPU driver libraries (the agent's log)", said[0][-300:] if said else "not said", ""))

        log("fully cold: a fresh sandbox per container, the environment cached")
        client.call("fresh")  # unmeasured: it reads torch from disk, and the bare runs below come after it too
        totals, agent_ms = cold_calls(client, "fresh", options.runs)
        check.timing("call from fully cold (fresh sandbox) → result", totals)
        check.timing("  the agent's part (command → ready)", agent_ms)
        bare = []
        for _ in range(options.runs):
            begun = time.perf_counter()
            subprocess.run([sys.executable, "-c", BARE.format(work=work)], check=True, capture_output=True)
            bare.append((time.perf_counter() - begun) * 1000)
        check.timing("bare fresh process doing the same work", bare)
        check.expect(
            "fully cold ≤ bare process + 0.5 s",
            statistics.median(totals) <= statistics.median(bare) + 500,
            f"{statistics.median(totals) - statistics.median(bare):+.0f} ms",
        )

        log("zygote warm: the first call starts it, the next ones fork from it")
        first, _ = client.call("matmul")
        totals, agent_ms = cold_calls(client, "matmul", options.runs)
        check.timing("call from zero containers, zygote warm → result", totals, "p50 ≤ 1000 ms")
        check.timing("  the agent's part (command → ready)", agent_ms)
        check.expect("zygote-warm call ≤ 1 s", statistics.median(totals) <= 1000, f"{statistics.median(totals):.0f} ms")
        warm_calls = [client.call("matmul") for _ in range(10)]
        check.timing("warm call → result", [took for _, took in warm_calls])
        seen, shown = held_gpus(client, warm_calls[-1][0], wait_s=0 if options.cpu else 10)
        check.expect("the API shows the GPUs its container holds", shown == seen, f"{shown} (it saw {seen})")

        result = first["result"]
        check.rows.append(
            ("device, as the function saw it", f"{result['device']} (checksum {result['checksum']:.6g})", "")
        )
        if not options.cpu:
            nvidia_n = [d for d in result["devices"] if d.removeprefix("nvidia").isdigit()]
            check.expect("the container sees one GPU", result["count"] == 1, f"torch sees {result['count']}")
            check.expect("its /dev holds one GPU", len(nvidia_n) == 1, nvidia_n)
            listed = result["driver_gpus"]
            check.expect("the driver's /proc lists one GPU", listed is None or len(listed) == 1, listed)
            check.expect("CUDA_VISIBLE_DEVICES names it", bool(result["visible"]), result["visible"])

        log("cancel a call that holds GPU memory")
        call_id = client.spawn("hold", 600)
        wait_until(holds(gpus, idle_mib, client, call_id), 120, "the call to hold GPU memory")
        # its function's processes (bwrap's outer process, which only waits for the sandbox, stays beside the agent)
        runtime = [pid for pid in ours(stack, "app:hold") if program(pid) != "bwrap"]
        limits = sorted({memory_limit_mib(pid) for pid in runtime})
        memory = CPU_MEMORY_MIB if options.cpu else GPU_MEMORY_MIB
        check.expect("its cgroup's memory limit is the function's (host view)", limits == [memory], limits)
        client.http.delete(f"/v1/calls/{call_id}").raise_for_status()
        freed = wait_until(released(gpus, idle_mib, stack, "hold"), 60, "the memory to be freed")
        check.expect(f"cancelled: {held(options)} is freed", True, f"in {freed:.1f} s")

        log("kill the agent with SIGKILL while CUDA holds memory")
        call_id = client.spawn("hold", 5)
        wait_until(holds(gpus, idle_mib, client, call_id), 120, "the call to hold GPU memory")
        agent = stack.child("agent")
        sandbox = ours(stack, "app:hold")
        os.kill(agent.pid, signal.SIGKILL)  # the agent alone: its sandboxes must die with it
        agent.popen.wait()
        memory = released(gpus, idle_mib, stack, "hold") if idle_mib is not None else lambda: True
        freed = wait_until(lambda: memory() and not alive(sandbox), 60, "the sandbox and its memory to go")
        gone = f"{len(sandbox)} processes, gone in {freed:.1f} s"
        check.expect(f"agent killed: its sandbox exits, {held(options)} is freed", bool(sandbox), gone)
        stack.start_agent()
        ended = client.result(call_id, timeout=120)
        check.expect(
            "the killed call's retry succeeds",
            ended.get("status") == "succeeded" and ended.get("attempt") == 2,
            f"{ended.get('status')}, attempt {ended.get('attempt')}",
        )

        log("scale to zero: the windows pass")
        gone = wait_until(lambda: not ours(stack), 2 + ZYGOTE_IDLE_S + 30, "every sandbox process to exit")
        check.expect("no sandbox process left", True, f"after {gone:.1f} s")
        containers = {row["id"] for row in stack.rows("SELECT id FROM containers")}
        parents = container_parents(stack.child("agent").pid)
        zygotes = zygote_prefix((state / "agent").resolve())
        left = wait_until(lambda: not cgroups_named(parents, containers, zygotes), 30, "their cgroups to go")
        swept = f"{len(containers)} containers' and the zygotes', after {left:.1f} s"
        check.expect("no cgroup of its containers or zygotes left", True, swept)
        if idle_mib is not None:
            used = gpus.used_mib() or 0
            check.expect("GPU memory back to idle", used <= idle_mib + GPU_MEMORY_SLACK_MIB, f"{used:.0f} MiB")
    finally:
        stack.close_uninterrupted()


def held_gpus(client: Client, call: dict[str, Any], wait_s: float) -> tuple[list[int], list[int]]:
    """(the node's indices of the GPUs the call's function saw, those the API shows its container holds
    once its agent has reported them)."""
    visible = (call["result"]["visible"] or "").split(",")
    container = client.http.get(f"/v1/containers/{call['container_id']}").json()
    node = client.http.get(f"/v1/nodes/{container['node_id']}").json()
    seen = sorted(gpu["index"] for gpu in node["gpus"] if gpu["uuid"] in visible)
    deadline = time.monotonic() + wait_s
    while container["gpus"] != seen and time.monotonic() < deadline:
        time.sleep(0.1)
        container = client.http.get(f"/v1/containers/{call['container_id']}").json()
    return seen, container["gpus"]


def held(options: argparse.Namespace) -> str:
    return "its container (--cpu: no GPU memory to watch)" if options.cpu else "its GPU memory"


def holds(gpus: Gpus, idle_mib: float | None, client: Client, call_id: str) -> Callable[[], bool]:
    """True once the `hold` call runs and holds its memory (on a CPU machine: once it runs)."""

    def holding() -> bool:
        if client.http.get(f"/v1/calls/{call_id}").json().get("status") != "running":
            return False
        return idle_mib is None or (gpus.used_mib() or 0) > idle_mib + 4096

    return holding


def memory_limit_mib(pid: int) -> float | None:
    """The memory limit of the cgroup holding `pid`, read off the host's cgroupfs (v2 or v1)."""
    root = Path("/sys/fs/cgroup")
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if names == "" and (root / "cgroup.controllers").exists():
            limit = root / path.lstrip("/") / "memory.max"
        elif "memory" in names.split(","):
            limit = root / "memory" / path.lstrip("/") / "memory.limit_in_bytes"
        else:
            continue
        try:
            return int(limit.read_text()) / (1 << 20)
        except (OSError, ValueError):  # gone meanwhile, or "max"
            return None
    return None


def program(pid: int) -> str:
    try:
        return Path(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()).name
    except OSError:
        return ""


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def released(gpus: Gpus, idle_mib: float | None, stack: Stack, function: str) -> Callable[[], bool]:
    if idle_mib is None:
        return no_container_of(stack, function)
    return lambda: (gpus.used_mib() or 0) <= idle_mib + GPU_MEMORY_SLACK_MIB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold calls of each kind")
    parser.add_argument("--cpu", action="store_true", help="a CPU function instead: checks the harness anywhere")
    options = parser.parse_args()
    gpus = Gpus()
    if not options.cpu and gpus.used_mib() is None:
        print("no NVIDIA GPU on this machine (NVML found none): nothing to check")
        return 0
    if os.geteuid() != 0:
        print("needs root and bubblewrap (the agent runs sandboxes)", file=sys.stderr)
        return 2
    interrupt_on_sigterm()
    state = Path(tempfile.mkdtemp(prefix="skiff-gpu-check-"))
    state.chmod(0o755)  # Postgres and the sandboxes' users must reach it
    check = Check()
    began = time.monotonic()
    try:
        run(options, state, gpus, check)
    except BenchError as exc:
        check.failures.append(str(exc))
    print(f"Command: `{' '.join(sys.orig_argv)}`, {time.monotonic() - began:.0f} s\n")
    print("| figure | value | target |\n|---|---|---|")
    for name, value, target in check.rows:
        print(f"| {name} | {value} | {target} |")
    for failure in check.failures:
        print(f"FAILED: {failure}")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
