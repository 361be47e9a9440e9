"""The agent's GPU pool: a device is held by one container at a time and returns when it ends.

There is no GPU on CI machines: these devices are a stand-in named as such; the real NVML and
/dev/nvidia* path is exercised on a GPU node."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.gpus import GpuPool, NoFreeGpu, device_nodes, proc_views, visible_devices
from agent.inventory import GpuDevice, proc_bus_id
from agent.sandbox.interface import ProcView

STAND_IN_GPUS = [
    GpuDevice(index=0, uuid="GPU-aaaa", model="H100", memory_mib=81559, minor=0, pci_bus_id="0000:18:00.0"),
    GpuDevice(index=1, uuid="GPU-bbbb", model="H100", memory_mib=81559, minor=1, pci_bus_id="0000:3b:00.0"),
    GpuDevice(index=2, uuid="GPU-cccc", model="A100-80GB", memory_mib=81920, minor=2, pci_bus_id="0000:86:00.0"),
]


def test_devices_are_never_held_twice_and_return_on_release() -> None:
    pool = GpuPool(STAND_IN_GPUS)
    first = pool.assign("c1", "H100", 1)
    second = pool.assign("c2", "H100", 1)
    assert {first[0].index, second[0].index} == {0, 1}
    with pytest.raises(NoFreeGpu, match="1 H100 wanted, 0 free"):
        pool.assign("c3", "H100", 1)
    assert [d.model for d in pool.assign("c3", "any", 1)] == ["A100-80GB"]
    pool.release("c1")
    assert [d.index for d in pool.assign("c4", "H100", 1)] == [first[0].index]


def test_a_container_sees_its_own_devices_by_uuid() -> None:
    pool = GpuPool(STAND_IN_GPUS)
    devices = pool.assign("c1", "H100", 2)
    assert visible_devices(devices) == "GPU-aaaa,GPU-bbbb"
    nodes = [str(p) for p in device_nodes(devices)]
    assert nodes[:2] == ["/dev/nvidia0", "/dev/nvidia1"]
    assert "/dev/nvidia2" not in nodes
    assert device_nodes([]) == ()


def test_the_device_file_is_named_by_the_minor_number_not_the_index() -> None:
    # NVML orders devices by PCI bus; the driver numbers /dev/nvidiaN on its own, and they can differ
    swapped = [
        GpuDevice(index=0, uuid="GPU-aaaa", model="H100", memory_mib=81559, minor=1, pci_bus_id="0000:18:00.0"),
        GpuDevice(index=1, uuid="GPU-bbbb", model="H100", memory_mib=81559, minor=0, pci_bus_id="0000:3b:00.0"),
    ]
    devices = GpuPool(swapped).assign("c1", "H100", 1)
    assert devices[0].index == 0
    assert device_nodes(devices)[0] == Path("/dev/nvidia1")


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
