"""GPU placement, assignment and release through real processes, on a machine without a GPU.

The agent is given stand-in GPUs: character devices (/dev/null's numbers) named as such, listed in
place of NVML's inventory. Everything else is the real path: registration, the scheduler's
placement, the agent's pool, CUDA_VISIBLE_DEVICES and the device bound into the sandbox. NVML, CUDA
and /dev/nvidia* themselves are exercised on a GPU node by bench/gpu_check.py.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from tests.conftest import Tenant
from tests.e2e.conftest import Platform, Process, bootstrap_tenant, start_agent
from tests.e2e.test_core_loop import call, deploy

SOURCE = """
import os, time

def where(paths):
    return {"visible": os.environ.get("CUDA_VISIBLE_DEVICES"), "bound": [p for p in paths if os.path.exists(p)]}

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
gpu = "H100"
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
    devices: list[str]  # the stand-in device files: an H100, then an A100-80GB

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.tenant.headers, timeout=90)


@pytest.fixture
def gpu_node(platform: Platform, settings: Settings, open_tmp: Path) -> Iterator[GpuNode]:
    tenant = bootstrap_tenant(settings, "gpus")
    devices = []
    for index in range(2):
        device = open_tmp / f"stand-in-gpu{index}"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        device.chmod(0o666)  # the umask must not keep the sandbox's user out
        devices.append(str(device))
    listed = open_tmp / "stand-in-gpus.json"
    listed.write_text(
        json.dumps(
            [
                {"model": "H100", "memory_mib": 81559, "device_file": devices[0]},
                {"model": "A100-80GB", "memory_mib": 81920, "device_file": devices[1]},
            ]
        )
    )
    node_token = httpx.post(
        f"{platform.url}/v1/tokens", json={"name": "gpu-agent", "kind": "node"}, headers=tenant.headers
    ).json()["token"]
    agent = start_agent(
        platform.url, node_token, settings, open_tmp / "gpu-node", "gpu-node", SKIFF_AGENT_STAND_IN_GPUS=str(listed)
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
    h100, a100 = gpu_node.devices
    with gpu_node.http() as http:
        [node] = http.get("/v1/nodes").json()["items"]
        assert [(g["index"], g["uuid"], g["model"]) for g in node["gpus"]] == [
            (0, "GPU-stand-in-0", "H100"),
            (1, "GPU-stand-in-1", "A100-80GB"),
        ]
        assert "stand-in GPUs instead of NVML's" in gpu_node.agent.output()
        on_h100 = succeeded(call(http, "gpus", "where", gpu_node.devices, wait=60))["result"]
        assert on_h100 == {"visible": "GPU-stand-in-0", "bound": [h100]}
        on_a100 = succeeded(call(http, "gpus", "a100", gpu_node.devices, wait=60))["result"]  # its second choice
        assert on_a100 == {"visible": "GPU-stand-in-1", "bound": [a100]}
        on_cpu = succeeded(call(http, "gpus", "cpu", gpu_node.devices, wait=60))["result"]
        assert on_cpu == {"visible": None, "bound": []}


def test_a_gpu_is_never_held_twice_and_comes_back_however_its_container_ends(gpu_node: GpuNode) -> None:
    with gpu_node.http() as http:
        # `hold` keeps the node's one H100 for 3 s; `where` wants it too and waits for it
        holding = http.post("/v1/apps/gpus/functions/hold/calls", json={"args": [3, gpu_node.devices]})
        assert holding.status_code == 202, holding.text
        deadline = time.monotonic() + 60
        while http.get(holding.headers["location"]).json()["status"] != "running":
            assert time.monotonic() < deadline, "the holding call never started"
            time.sleep(0.05)
        waiting = succeeded(call(http, "gpus", "where", gpu_node.devices, wait=60))
        held = http.get(f"{holding.headers['location']}/result", params={"wait": 30}).json()
        assert held["status"] == "succeeded", held
        assert held["result"]["visible"] == waiting["result"]["visible"] == "GPU-stand-in-0"  # type: ignore[index]
        assert at(waiting["started_at"]) >= at(held["finished_at"])  # it ran only once the H100 was free

        # a container that crashes gives the GPU back
        crashed = call(http, "gpus", "crash", wait=60).json()
        assert crashed["status"] == "failed", crashed
        assert succeeded(call(http, "gpus", "where", gpu_node.devices, wait=60))["result"]["visible"] == (  # type: ignore[index]
            "GPU-stand-in-0"
        )

        # so does one killed by a cancel
        cancelled = http.post("/v1/apps/gpus/functions/hold/calls", json={"args": [600, gpu_node.devices]})
        deadline = time.monotonic() + 60
        while http.get(cancelled.headers["location"]).json()["status"] != "running":
            assert time.monotonic() < deadline, "the call to cancel never started"
            time.sleep(0.05)
        assert http.delete(cancelled.headers["location"]).status_code in (200, 202)
        again = succeeded(call(http, "gpus", "where", gpu_node.devices, wait=60))
        assert again["result"]["visible"] == "GPU-stand-in-0"  # type: ignore[index]
    assert "wanted, 0 free" not in gpu_node.agent.output()  # the scheduler never sent a start the pool refused


def at(value: object) -> datetime:
    assert isinstance(value, str), value
    return datetime.fromisoformat(value)
