"""How `skiff containers ls` shows a container's state, GPUs and time up. The commands themselves run
against the live API in tests/e2e/test_sdk.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from skiff.cli.containers import gpus, status, up
from skiff_client.models.container_out import ContainerOut

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
USAGE = {"index": 3, "utilization_percent": 87, "memory_used_mib": 40960}  # its node's last report


def container(**fields: Any) -> ContainerOut:
    return ContainerOut.from_dict(
        {
            "id": "ctr_01jd2x5k7m9qrstvwxyz0123ab", "app": "a", "function": "f", "version": 1,
            "function_id": "fn_x", "node_id": "node_x", "node": "gpu-box-1", "state": "ready", "asleep": False,
            "running_calls": 0,
            "gpu_model": None, "gpu_count": 0, "gpus": [], "gpu_usage": [], "created_at": "2026-01-01T11:00:00+00:00",
            "started_at": None, "ready_at": None, "idle_since": None, "exited_at": None, "exit_reason": None,
            "cold_start_ms": None, **fields,
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "-"),
        ({"gpu_model": "H100", "gpu_count": 2}, "H100:2"),  # reserved, its agent has not said which yet
        ({"gpu_model": "H100", "gpu_count": 2, "gpus": [0, 3]}, "H100:2 (0, 3)"),
        ({"gpu_model": "H100", "gpu_count": 2, "gpus": [0, 3], "gpu_usage": [USAGE]}, "H100:2 (0, 3: 87%)"),
    ],
)
def test_gpus_are_the_reserved_model_and_count_then_which_it_holds_and_how_busy(
    fields: dict[str, Any], expected: str
) -> None:
    assert gpus(container(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "ready"),
        ({"asleep": True}, "asleep"),
        ({"state": "exited", "exit_reason": "out of memory (limit 512 MiB)"}, "exited: out of memory (limit 512 MiB)"),
    ],
)
def test_the_state_says_asleep_and_why_it_exited(fields: dict[str, Any], expected: str) -> None:
    assert status(container(**fields)) == expected


def test_time_up_runs_from_ready_to_now_or_to_its_exit() -> None:
    assert up(container(), NOW) == "-"
    assert up(container(ready_at="2026-01-01T11:58:00+00:00"), NOW) == "2m"
    exited = container(ready_at="2026-01-01T09:00:00+00:00", exited_at="2026-01-01T10:00:05+00:00", state="exited")
    assert up(exited, NOW) == "1h"
