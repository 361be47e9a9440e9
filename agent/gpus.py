"""Which of this node's GPUs each container holds. A device is never handed out twice, and goes
back to the pool when its container ends, however it ends."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.gpu_driver import DriverLibraries
from agent.inventory import GpuDevice
from agent.sandbox.interface import ProcView

# Besides /dev/nvidiaN, CUDA needs the control and unified-memory devices.
SHARED_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
# The driver lists every GPU of the node here (model, UUID, bus); a container's list holds its own.
DRIVER_GPUS = Path("/proc/driver/nvidia/gpus")
# How long a start waits for the GPUs of containers being stopped (idle ones stop in milliseconds).
HANDOVER_WAIT_SECONDS = 30.0
UVM_DEVICE = "nvidia-uvm"


class NoFreeGpu(Exception):
    """The scheduler reserved GPUs this node does not have free (its view was stale)."""


class GpuPool:
    """The scheduler counts a GPU free as soon as it tells its container to stop, so that it can send
    the container that needs the GPU next at once: that start waits here until the GPU is given back."""

    def __init__(self, devices: Sequence[GpuDevice], libraries: DriverLibraries | None = None) -> None:
        self.devices = list(devices)
        self.libraries = libraries  # the driver's, as its containers must load them (None: not found)
        self.holders: dict[int, str] = {}  # device index → container id
        self.leaving: set[str] = set()  # containers told to stop: what they hold comes back soon
        self._released = asyncio.Event()

    def assign(self, container_id: str, model: str, count: int) -> list[GpuDevice]:
        free = self._matching(model, lambda holder: holder is None)
        if len(free) < count:
            raise NoFreeGpu(f"{count} {model} wanted, {len(free)} free on this node")
        chosen = free[:count]
        for device in chosen:
            self.holders[device.index] = container_id
        return chosen

    async def acquire(
        self, container_id: str, model: str, count: int, wait_s: float = HANDOVER_WAIT_SECONDS
    ) -> list[GpuDevice]:
        """Assign now, or as soon as containers being stopped give back what is missing."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            try:
                return self.assign(container_id, model, count)
            except NoFreeGpu as exc:
                coming = self._matching(model, lambda holder: holder is None or holder in self.leaving)
                remaining = deadline - asyncio.get_running_loop().time()
                if len(coming) < count or remaining <= 0:
                    held = "" if len(coming) < count else f" (the stopping containers kept theirs for {wait_s:g} s)"
                    raise NoFreeGpu(f"{exc}{held}") from None
            with contextlib.suppress(TimeoutError):  # then the loop says what is still held
                await asyncio.wait_for(self._released.wait(), remaining)

    def held_by(self, container_id: str) -> list[int]:
        """The indices of the devices the container holds."""
        return sorted(index for index, holder in self.holders.items() if holder == container_id)

    def stopping(self, container_id: str) -> None:
        if container_id in self.holders.values():
            self.leaving.add(container_id)

    def release(self, container_id: str) -> None:
        self.holders = {index: holder for index, holder in self.holders.items() if holder != container_id}
        self.leaving.discard(container_id)
        self._released.set()  # wakes the starts waiting now; later ones wait on a fresh event
        self._released = asyncio.Event()

    def _matching(self, model: str, holder_ok: Callable[[str | None], bool]) -> list[GpuDevice]:
        return [d for d in self.devices if model in ("any", d.model) and holder_ok(self.holders.get(d.index))]


def visible_devices(devices: Sequence[GpuDevice]) -> str:
    """CUDA_VISIBLE_DEVICES by UUID: indices would be renumbered inside the sandbox."""
    return ",".join(d.uuid for d in devices)


def device_nodes(devices: Sequence[GpuDevice]) -> tuple[Path, ...]:
    """The device files to bind: the assigned GPUs, and the shared ones that exist on this node."""
    own = [d.device_file for d in devices]
    shared = [Path(p) for p in SHARED_DEVICES if Path(p).exists()]
    return (*own, *shared) if devices else ()


def proc_views(devices: Sequence[GpuDevice], driver_gpus: Path = DRIVER_GPUS) -> tuple[ProcView, ...]:
    """The driver's /proc list of GPUs, trimmed to the assigned ones (where the driver has it)."""
    listed = tuple(d.pci_bus_id for d in devices if d.pci_bus_id)
    if not listed or not driver_gpus.is_dir():
        return ()
    return (ProcView(str(driver_gpus), listed),)


def ensure_uvm(dev: Path = Path("/dev"), modprobe: str = "nvidia-modprobe") -> str | None:
    """CUDA needs /dev/nvidia-uvm, which the driver creates only once something loads its module; a
    sandbox cannot (no privileges, no /dev of its own), so the agent does it at start, as container
    runtimes do. Returns a warning when the device is still missing."""
    if (dev / UVM_DEVICE).exists():
        return None
    tool = shutil.which(modprobe)
    if tool is not None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([tool, "-u", "-c=0"], capture_output=True, timeout=30, check=False)
        if (dev / UVM_DEVICE).exists():
            return None
    tried = f"{tool} -u -c=0 did not create it" if tool else f"{modprobe} is not installed"
    return (
        f"{dev / UVM_DEVICE} is missing ({tried}): CUDA will fail in sandboxes until it exists; "
        "run `nvidia-modprobe -u -c=0` or any CUDA program once as root"
    )
