"""GPU model names as NVML reports them, normalised to what functions ask for."""

from __future__ import annotations

import pytest

from agent.inventory import normalise_gpu_model, read_inventory


@pytest.mark.parametrize(
    ("nvml", "short"),
    [
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA H100 PCIe", "H100"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA GH200 480GB", "GH200"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA A100 80GB PCIe", "A100-80GB"),
        ("NVIDIA A10G", "A10G"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla T4", "T4"),
        ("NVIDIA GeForce RTX 4090", "RTX-4090"),
        ("Some Future Card", "Some-Future-Card"),
    ],
)
def test_gpu_models_are_normalised(nvml: str, short: str) -> None:
    assert normalise_gpu_model(nvml) == short


def test_this_machine_reports_cpus_and_memory() -> None:
    inventory = read_inventory()
    assert inventory.cpus >= 1 and inventory.memory_mib > 256
