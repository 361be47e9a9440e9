"""The agent's GPU pool: a device is held by one container at a time and returns when it ends.

There is no GPU on CI machines: these devices are a stand-in named as such; the real NVML and
/dev/nvidia* path is exercised on a GPU node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agent.gpus import GpuPool, NoFreeGpu, device_nodes, ensure_uvm, proc_views, visible_devices
from agent.inventory import GpuDevice, proc_bus_id, stand_in_gpus
from agent.sandbox.interface import ProcView


def stand_in(index: int, model: str, memory_mib: int, bus: str) -> GpuDevice:
    return GpuDevice(index, f"GPU-{'abc'[index] * 4}", model, memory_mib, Path(f"/dev/nvidia{index}"), bus)


STAND_IN_GPUS = [
    stand_in(0, "H100", 81559, "0000:18:00.0"),
    stand_in(1, "H100", 81559, "0000:3b:00.0"),
    stand_in(2, "A100-80GB", 81920, "0000:86:00.0"),
]


def test_devices_are_never_held_twice_and_return_on_release() -> None:
    pool = GpuPool(STAND_IN_GPUS)
    first = pool.assign("c1", "H100", 1)
    second = pool.assign("c2", "H100", 1)
    assert {first[0].index, second[0].index} == {0, 1}
    with pytest.raises(NoFreeGpu, match="1 H100 wanted, 0 free"):
        pool.assign("c3", "H100", 1)
    assert [d.model for d in pool.assign("c3", "any", 1)] == ["A100-80GB"]
    assert (pool.held_by("c1"), pool.held_by("c3")) == ([first[0].index], [2])  # what its report says
    pool.release("c1")
    assert pool.held_by("c1") == []
    assert [d.index for d in pool.assign("c4", "H100", 1)] == [first[0].index]


def test_a_container_sees_its_own_devices_by_uuid() -> None:
    pool = GpuPool(STAND_IN_GPUS)
    devices = pool.assign("c1", "H100", 2)
    assert visible_devices(devices) == "GPU-aaaa,GPU-bbbb"
    nodes = [str(p) for p in device_nodes(devices)]
    assert nodes[:2] == ["/dev/nvidia0", "/dev/nvidia1"]
    assert "/dev/nvidia2" not in nodes
    assert device_nodes([]) == ()


def test_the_device_file_is_the_one_nvml_named_not_one_made_from_the_index() -> None:
    # NVML orders devices by PCI bus; the driver numbers /dev/nvidiaN on its own, and they can differ
    swapped = GpuDevice(0, "GPU-aaaa", "H100", 81559, device_file=Path("/dev/nvidia1"), pci_bus_id="0000:18:00.0")
    assert device_nodes(GpuPool([swapped]).assign("c1", "H100", 1))[0] == Path("/dev/nvidia1")


def test_stand_in_gpus_are_read_from_a_file_and_bad_ones_are_named(tmp_path: Path) -> None:
    listed = tmp_path / "gpus.json"
    listed.write_text(json.dumps([{"model": "H100", "memory_mib": 81559, "device_file": "/dev/null"}]))
    assert stand_in_gpus(listed) == [
        GpuDevice(0, "GPU-stand-in-0", "H100", 81559, device_file=Path("/dev/null"), pci_bus_id="")
    ]
    listed.write_text(json.dumps([{"model": "H100", "memory_mib": "lots", "device_file": "/dev/null"}]))
    with pytest.raises(ValueError, match=r"device 0 needs model \(text\), memory_mib \(a whole number\)"):
        stand_in_gpus(listed)
    listed.write_text("{}")
    with pytest.raises(ValueError, match="expected a JSON list of devices"):
        stand_in_gpus(listed)
    with pytest.raises(ValueError, match=r"missing\.json"):
        stand_in_gpus(tmp_path / "missing.json")


def test_the_bus_id_is_written_as_the_driver_names_its_proc_entries() -> None:
    assert proc_bus_id("00000000:3B:00.0") == "0000:3b:00.0"
    assert proc_bus_id("00000001:C1:00.1") == "0001:c1:00.1"


def test_the_drivers_gpu_list_is_trimmed_to_the_assigned_gpus(tmp_path: Path) -> None:
    driver_gpus = tmp_path / "gpus"  # stands in for /proc/driver/nvidia/gpus
    driver_gpus.mkdir()
    devices = GpuPool(STAND_IN_GPUS).assign("c1", "H100", 2)
    assert proc_views(devices, driver_gpus) == (ProcView(str(driver_gpus), ("0000:18:00.0", "0000:3b:00.0")),)
    assert proc_views([], driver_gpus) == ()
    assert proc_views(devices, tmp_path / "no-driver") == ()  # a node whose driver keeps no such list
    stand_in = GpuDevice(0, "GPU-stand-in-0", "H100", 1, device_file=Path("/dev/null"), pci_bus_id="")
    assert proc_views([stand_in], driver_gpus) == ()


async def test_a_start_waits_for_the_gpu_a_stopping_container_gives_back() -> None:
    pool = GpuPool(STAND_IN_GPUS[:1])
    pool.assign("old", "H100", 1)
    pool.stopping("old")  # the scheduler stopped it to make room, and sent the next container at once
    waiting = asyncio.ensure_future(pool.acquire("new", "H100", 1))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    pool.release("old")
    assert [d.index for d in await asyncio.wait_for(waiting, 5)] == [0]
    assert pool.holders == {0: "new"}


async def test_a_start_fails_at_once_when_no_stopping_container_holds_what_it_needs() -> None:
    pool = GpuPool(STAND_IN_GPUS[:1])
    pool.assign("busy", "H100", 1)
    with pytest.raises(NoFreeGpu, match=r"^1 H100 wanted, 0 free on this node$"):
        await asyncio.wait_for(pool.acquire("new", "H100", 1), 1)


async def test_a_start_gives_up_when_the_stopping_container_keeps_its_gpu() -> None:
    pool = GpuPool(STAND_IN_GPUS[:1])
    pool.assign("old", "H100", 1)
    pool.stopping("old")
    with pytest.raises(NoFreeGpu, match=r"the stopping containers kept theirs for 0\.2 s"):
        await pool.acquire("new", "H100", 1, wait_s=0.2)
    assert pool.holders == {0: "old"}


def test_a_missing_unified_memory_device_is_created_or_named(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    warning = ensure_uvm(dev, modprobe="no-such-nvidia-modprobe")
    assert warning == (
        f"{dev}/nvidia-uvm is missing (no-such-nvidia-modprobe is not installed): CUDA will fail in sandboxes "
        "until it exists; run `nvidia-modprobe -u -c=0` or any CUDA program once as root"
    )
    tool = tmp_path / "fake-nvidia-modprobe"  # stands in for nvidia-modprobe: it creates the device
    tool.write_text(f"#!/bin/sh\n[ \"$1 $2\" = '-u -c=0' ] && touch {dev}/nvidia-uvm\n")
    tool.chmod(0o755)
    assert ensure_uvm(dev, modprobe=str(tool)) is None
    assert (dev / "nvidia-uvm").exists()
    assert ensure_uvm(dev, modprobe="no-such-nvidia-modprobe") is None  # present: nothing to do
