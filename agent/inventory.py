"""What this machine offers: CPUs, memory and GPUs (through NVML when the driver is there)."""

from __future__ import annotations

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
    index: int
    uuid: str
    model: str
    memory_mib: int


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
            name = pynvml.nvmlDeviceGetName(handle)
            uuid = pynvml.nvmlDeviceGetUUID(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total // (1024 * 1024)
            devices.append(
                GpuDevice(
                    index=index,
                    uuid=uuid if isinstance(uuid, str) else uuid.decode(),
                    model=normalise_gpu_model(name if isinstance(name, str) else name.decode()),
                    memory_mib=int(memory),
                )
            )
        return devices
    finally:
        pynvml.nvmlShutdown()


def read_inventory() -> Inventory:
    return Inventory(cpus=float(len(os.sched_getaffinity(0))), memory_mib=_memory_mib(), gpus=_gpus())


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
