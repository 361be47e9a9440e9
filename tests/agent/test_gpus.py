"""The agent's GPU pool: a device is held by one container at a time and returns when it ends.

There is no GPU on CI machines: these devices are a stand-in named as such; the real NVML and
/dev/nvidia* path is exercised on a GPU node."""

from __future__ import annotations

import pytest

from agent.gpus import GpuPool, NoFreeGpu, device_nodes, visible_devices
from agent.inventory import GpuDevice

STAND_IN_GPUS = [
    GpuDevice(index=0, uuid="GPU-aaaa", model="H100", memory_mib=81559),
    GpuDevice(index=1, uuid="GPU-bbbb", model="H100", memory_mib=81559),
    GpuDevice(index=2, uuid="GPU-cccc", model="A100-80GB", memory_mib=81920),
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
