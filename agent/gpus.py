"""Which of this node's GPUs each container holds. A device is never handed out twice, and goes
back to the pool when its container ends, however it ends."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.inventory import GpuDevice
from agent.sandbox.interface import ProcView

# Besides /dev/nvidiaN, CUDA needs the control and unified-memory devices.
SHARED_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
# The driver lists every GPU of the node here (model, UUID, bus); a container's list holds its own.
DRIVER_GPUS = Path("/proc/driver/nvidia/gpus")


class NoFreeGpu(Exception):
    """The scheduler reserved GPUs this node does not have free (its view was stale)."""


class GpuPool:
    def __init__(self, devices: Sequence[GpuDevice]) -> None:
        self.devices = list(devices)
        self.holders: dict[int, str] = {}  # device index → container id

    def assign(self, container_id: str, model: str, count: int) -> list[GpuDevice]:
        free = [d for d in self.devices if d.index not in self.holders and (model in ("any", d.model))]
        if len(free) < count:
            raise NoFreeGpu(f"{count} {model} wanted, {len(free)} free on this node")
        chosen = free[:count]
        for device in chosen:
            self.holders[device.index] = container_id
        return chosen

    def release(self, container_id: str) -> None:
        self.holders = {index: holder for index, holder in self.holders.items() if holder != container_id}


def visible_devices(devices: Sequence[GpuDevice]) -> str:
    """CUDA_VISIBLE_DEVICES by UUID: indices would be renumbered inside the sandbox."""
    return ",".join(d.uuid for d in devices)


def device_nodes(devices: Sequence[GpuDevice]) -> tuple[Path, ...]:
    """The device files to bind: the assigned GPUs, and the shared ones that exist on this node."""
    own = [Path(f"/dev/nvidia{d.minor}") for d in devices]
    shared = [Path(p) for p in SHARED_DEVICES if Path(p).exists()]
    return (*own, *shared) if devices else ()


def proc_views(devices: Sequence[GpuDevice], driver_gpus: Path = DRIVER_GPUS) -> tuple[ProcView, ...]:
    """The driver's /proc list of GPUs, trimmed to the assigned ones (where the driver has it)."""
    if not devices or not driver_gpus.is_dir():
        return ()
    return (ProcView(str(driver_gpus), tuple(d.pci_bus_id for d in devices)),)
