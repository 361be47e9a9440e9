"""GPU placement, assignment and release through real processes, on a machine without a GPU.

The agent is given stand-in GPUs: character devices (/dev/null's numbers) named as such, listed in
place of NVML's inventory. Everything else is the real path: registration, the scheduler's
placement, the agent's pool, CUDA_VISIBLE_DEVICES and the device bound into the sandbox. NVML, CUDA
and /dev/nvidia* themselves are exercised on a GPU node by bench/gpu_check.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from agent.gpu_driver import LIBCUDA, library_path
from api.settings import Settings
from tests.conftest import Tenant
from tests.e2e.conftest import Platform, Process, bootstrap_tenant, start_agent
from tests.e2e.test_core_loop import call, deploy

SOURCE = """
import ctypes, os, time

def loads(name):
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True

def where(paths):
    return {
        "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "bound": [p for p in paths if os.path.exists(p)],
        "driver": loads("libcuda.so.1"),
    }

def hold(seconds, paths):
    time.sleep(seconds)
    return where(paths)

def crash():
    os._exit(3)
"""
MANIFEST = """
[functions.where]
handler = "app:where"
gpu = "H100"
scaledown_window = 2

[functions.hold]
handler = "app:hold"
gpu = "H100:2"
scaledown_window = 2

[functions.crash]
handler = "app:crash"
gpu = "H100"
retries = 0

[functions.a100]
handler = "app:where"
gpu = ["H200", "A100-80GB"]
scaledown_window = 2

[functions.cpu]
handler = "app:where"
scaledown_window = 2
"""


@dataclass
class GpuNode:
    url: str
    tenant: Tenant
    agent: Process
    devices: list[str]  # the stand-in device files: two H100s, then an A100-80GB

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.tenant.headers, timeout=90)


@pytest.fixture
def gpu_node(platform: Platform, settings: Settings, open_tmp: Path) -> Iterator[GpuNode]:
    tenant = bootstrap_tenant(settings, "gpus")
    devices = []
    for index in range(3):
        device = open_tmp / f"stand-in-gpu{index}"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        device.chmod(0o666)  # the umask must not keep the sandbox's user out
        devices.append(str(device))
    # The node keeps its driver outside the loader's system directories (a copy of zlib stands in for it).
    driver = open_tmp / "nvidia" / "lib64"
    driver.mkdir(parents=True)
    zlib = library_path("libz.so.1")
    assert zlib is not None
    shutil.copy(zlib, driver / LIBCUDA)
    listed = open_tmp / "stand-in-gpus.json"
    listed.write_text(
        json.dumps(
            [
                {"model": "H100", "memory_mib": 81559, "device_file": devices[0]},
                {"model": "H100", "memory_mib": 81559, "device_file": devices[1]},
                {"model": "A100-80GB", "memory_mib": 81920, "device_file": devices[2]},
            ]
        )
    )
    node_token = httpx.post(
        f"{platform.url}/v1/tokens", json={"name": "gpu-agent", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    agent = start_agent(
        platform.url,
        node_token,
        settings,
        open_tmp / "gpu-node",
        "gpu-node",
        SKIFF_AGENT_STAND_IN_GPUS=str(listed),
        SKIFF_AGENT_GPU_LIBRARIES=str(driver),
    )
    node = GpuNode(platform.url, tenant, agent, devices)
    deadline = time.monotonic() + 30
    with node.http() as http:
        while not [n for n in http.get("/v1/nodes").json()["items"] if n["state"] == "ready"]:
            assert time.monotonic() < deadline, f"the agent did not register:\n{agent.output()[-3000:]}"
            time.sleep(0.1)
        deploy(http, "gpus", {"app.py": SOURCE}, MANIFEST)
    yield node
    agent.stop(30)


def succeeded(response: httpx.Response) -> dict[str, object]:
    body: dict[str, object] = response.json()
    assert response.status_code == 200 and body["status"] == "succeeded", json.dumps(body)
    return body


def test_each_container_gets_the_gpu_it_asked_for_and_sees_no_other(gpu_node: GpuNode) -> None:
    first_h100, second_h100, a100 = gpu_node.devices
    with gpu_node.http() as http:
        [node] = http.get("/v1/nodes").json()["items"]
        assert [(g["index"], g["uuid"], g["model"]) for g in node["gpus"]] == [
            (0, "GPU-stand-in-0", "H100"),
            (1, "GPU-stand-in-1", "H100"),
            (2, "GPU-stand-in-2", "A100-80GB"),
        ]
        assert "stand-in GPUs instead of NVML's" in gpu_node.agent.output()
        h100 = succeeded(call(http, "gpus", "where", gpu_node.devices, wait=60))
        assert h100["result"] in (
            {"visible": "GPU-stand-in-0", "bound": [first_h100], "driver": True},
            {"visible": "GPU-stand-in-1", "bound": [second_h100], "driver": True},
        )
        assert reported_gpus(http, h100) == [int(h100["result"]["visible"][-1])]  # the one it saw
        on_a100 = succeeded(call(http, "gpus", "a100", gpu_node.devices, wait=60))  # its second choice
        assert on_a100["result"] == {"visible": "GPU-stand-in-2", "bound": [a100], "driver": True}
        assert reported_gpus(http, on_a100) == [2]
        on_two = succeeded(call(http, "gpus", "hold", 0, gpu_node.devices, wait=60))
        assert on_two["result"] == {
            "visible": "GPU-stand-in-0,GPU-stand-in-1",
            "bound": [first_h100, second_h100],
            "driver": True,
        }
        assert reported_gpus(http, on_two) == [0, 1]
        on_cpu = succeeded(call(http, "gpus", "cpu", gpu_node.devices, wait=60))
        assert on_cpu["result"] == {"visible": None, "bound": [], "driver": False}  # only GPU containers get the driver
        shown = http.get(f"/v1/containers/{on_cpu['container_id']}").json()
        assert (shown["gpu_model"], shown["gpu_count"], shown["gpus"]) == (None, 0, [])


def test_a_gpu_is_never_held_twice_and_comes_back_however_its_container_ends(gpu_node: GpuNode) -> None:
    both = "GPU-stand-in-0,GPU-stand-in-1"
    with gpu_node.http() as http:
        # `hold` keeps both of the node's H100s for 3 s; `where` wants one and waits for it
        holding = http.post("/v1/apps/gpus/functions/hold/calls", json={"args": [3, gpu_node.devices]})
        assert holding.status_code == 202, holding.text
        running(http, holding.headers["location"])
        waiting = succeeded(call(http, "gpus", "where", gpu_node.devices, wait=60))
        held = http.get(f"{holding.headers['location']}/result", params={"wait": 30}).json()
        assert held["status"] == "succeeded" and held["result"]["visible"] == both, held
        assert at(waiting["started_at"]) >= at(held["finished_at"])  # it ran only once an H100 was free

        # a container that crashes gives its GPU back: `hold` finds both H100s free again (the idle
        # `where` container is stopped to make room, and `hold` waits for the GPU it gives back)
        crashed = call(http, "gpus", "crash", wait=60).json()
        assert crashed["status"] == "failed", crashed
        assert succeeded(call(http, "gpus", "hold", 0, gpu_node.devices, wait=60))["result"] == {
            "visible": both,
            "bound": gpu_node.devices[:2],
            "driver": True,
        }

        # so does one killed by a cancel
        cancelled = http.post("/v1/apps/gpus/functions/hold/calls", json={"args": [600, gpu_node.devices]})
        running(http, cancelled.headers["location"])
        assert http.delete(cancelled.headers["location"]).status_code in (200, 202)
        again = succeeded(call(http, "gpus", "hold", 0, gpu_node.devices, wait=60))
        assert again["result"] == {"visible": both, "bound": gpu_node.devices[:2], "driver": True}
        assert again["container_id"] != http.get(cancelled.headers["location"]).json()["container_id"]  # a new one
    assert "wanted, 0 free" not in gpu_node.agent.output()  # the scheduler never sent a start the pool refused


def reported_gpus(http: httpx.Client, call: dict[str, object]) -> list[int]:
    """The GPUs the container that ran the call holds, as the API shows them once its agent reported them
    (its next poll)."""
    url = f"/v1/containers/{call['container_id']}"
    deadline = time.monotonic() + 10
    while not (container := http.get(url).json())["gpus"]:
        assert time.monotonic() < deadline, container
        time.sleep(0.1)
    gpus: list[int] = container["gpus"]
    return gpus


def running(http: httpx.Client, location: str) -> None:
    deadline = time.monotonic() + 60
    while http.get(location).json()["status"] != "running":
        assert time.monotonic() < deadline, f"{location} never started"
        time.sleep(0.05)


def at(value: object) -> datetime:
    assert isinstance(value, str), value
    return datetime.fromisoformat(value)
