"""What this machine offers: CPUs, memory and GPUs (through NVML when the driver is there)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

# NVML model strings → the short names functions ask for (`gpu="H100"`).
_GPU_MODELS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"GH200"), "GH200"),
    (re.compile(r"H200"), "H200"),
    (re.compile(r"H100"), "H100"),
    (re.compile(r"B200"), "B200"),
    (re.compile(r"A100.*80\s*GB|A100-SXM4-80GB|A100 80GB"), "A100-80GB"),
    (re.compile(r"A100"), "A100-40GB"),
    (re.compile(r"A10G"), "A10G"),
    (re.compile(r"\bA10\b"), "A10"),
    (re.compile(r"L40S"), "L40S"),
    (re.compile(r"\bL40\b"), "L40"),
    (re.compile(r"\bL4\b"), "L4"),
    (re.compile(r"\bT4\b"), "T4"),
    (re.compile(r"V100"), "V100"),
    (re.compile(r"RTX\s*(\d{4})"), "RTX-{0}"),
]


@dataclass(frozen=True)
class GpuDevice:
    index: int  # NVML's, ordered by PCI bus
    uuid: str
    model: str
    memory_mib: int
    device_file: Path  # /dev/nvidiaN, N its minor number, which need not equal the index
    pci_bus_id: str  # as /proc/driver/nvidia/gpus names it, 0000:3b:00.0 ('' for a stand-in)


def proc_bus_id(nvml_bus_id: str) -> str:
    """NVML's `00000000:3B:00.0` → the driver's /proc/driver/nvidia/gpus name `0000:3b:00.0`."""
    domain, _, rest = nvml_bus_id.partition(":")
    return f"{int(domain, 16):04x}:{rest.lower()}"


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


@dataclass(frozen=True)
class Inventory:
    cpus: float
    memory_mib: int
    gpus: list[GpuDevice]


def normalise_gpu_model(nvml_name: str) -> str:
    """`NVIDIA H100 80GB HBM3` → `H100`; unknown models keep their name, spaces as dashes."""
    name = nvml_name.replace("NVIDIA", "").strip()
    for pattern, short in _GPU_MODELS:
        match = pattern.search(name)
        if match:
            return short.format(*match.groups())
    return re.sub(r"\s+", "-", name)[:40] or "unknown"


def _memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


def _gpus() -> list[GpuDevice]:
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []  # no driver: a CPU node
    try:
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total // (1024 * 1024)
            devices.append(
                GpuDevice(
                    index=index,
                    uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                    model=normalise_gpu_model(_text(pynvml.nvmlDeviceGetName(handle))),
                    memory_mib=int(memory),
                    device_file=Path(f"/dev/nvidia{pynvml.nvmlDeviceGetMinorNumber(handle)}"),
                    pci_bus_id=proc_bus_id(_text(pynvml.nvmlDeviceGetPciInfo(handle).busId)),
                )
            )
        return devices
    finally:
        pynvml.nvmlShutdown()


def stand_in_gpus(path: Path) -> list[GpuDevice]:
    """GPUs for a machine without one (tests, demonstrations), instead of NVML's: a JSON list of
    {"model": "H100", "memory_mib": 81559, "device_file": "/path/to/a/character/device"}. The agent
    reports, assigns and binds them as it would real ones; nothing checks that they are GPUs."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"stand-in GPUs {path}: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError(f"stand-in GPUs {path}: expected a JSON list of devices")
    devices = []
    for index, entry in enumerate(entries):
        fields = entry if isinstance(entry, dict) else {}
        model, memory, device = fields.get("model"), fields.get("memory_mib"), fields.get("device_file")
        if not (isinstance(model, str) and model and isinstance(memory, int) and isinstance(device, str) and device):
            raise ValueError(
                f"stand-in GPUs {path}: device {index} needs model (text), memory_mib (a whole number) "
                "and device_file (a path)"
            )
        devices.append(
            GpuDevice(index, f"GPU-stand-in-{index}", model, memory, device_file=Path(device), pci_bus_id="")
        )
    return devices


def read_inventory(stand_in: list[GpuDevice] | None = None) -> Inventory:
    gpus = _gpus() if stand_in is None else stand_in
    return Inventory(cpus=float(len(os.sched_getaffinity(0))), memory_mib=_memory_mib(), gpus=gpus)


@dataclass(frozen=True)
class GpuLoad:
    index: int
    utilization_percent: int
    memory_used_mib: int


def read_gpu_usage() -> list[GpuLoad]:
    """Utilisation and memory in use per GPU; empty on a node without NVML."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    try:
        loads = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            rates = pynvml.nvmlDeviceGetUtilizationRates(handle)
            used = pynvml.nvmlDeviceGetMemoryInfo(handle).used // (1024 * 1024)
            loads.append(GpuLoad(index=index, utilization_percent=int(rates.gpu), memory_used_mib=int(used)))
        return loads
    finally:
        pynvml.nvmlShutdown()
