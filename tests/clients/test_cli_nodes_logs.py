"""`skiff nodes ls` and `skiff logs CALL_ID|APP`: how the argument picks a call or an app, and how
nodes are shown. The commands themselves run against the live API in tests/e2e/test_sdk.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from skiff.cli.logs import is_call_id, short_id
from skiff.cli.nodes import gpu_summary, memory
from skiff.cli.render import age
from skiff_client.models.gpu import Gpu

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def call_id(number: int) -> str:
    return f"call_{number:026d}"  # ids sort by creation, as the API's do


@pytest.mark.parametrize(
    ("target", "is_call"),
    [(call_id(1), True), ("hello", False), ("call-center", False), ("calls", False)],
)
def test_a_call_id_starts_with_call_and_anything_else_is_an_app(target: str, is_call: bool) -> None:
    assert is_call_id(target) is is_call


def test_the_short_id_is_the_random_end_of_the_id() -> None:
    assert short_id("call_01jd2x5k7m9qrstvwxyz0123ab") == "yz0123ab"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(-2, "0s"), (0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (7200, "2h"), (86400 * 3 + 5, "3d")],
)
def test_a_heartbeats_age_is_in_its_largest_unit(seconds: int, expected: str) -> None:
    assert age(NOW - timedelta(seconds=seconds), NOW) == expected
    assert age((NOW - timedelta(seconds=seconds)).replace(tzinfo=None), NOW) == expected  # naive means UTC


@pytest.mark.parametrize(
    ("models", "expected"),
    [([], "-"), (["H100"], "H100 x 1"), (["L4", "A10", "L4"], "A10 x 1, L4 x 2")],
)
def test_gpus_are_counted_by_model(models: list[str], expected: str) -> None:
    assert gpu_summary([Gpu(index=i, memory_mib=1, model=m, uuid=str(i)) for i, m in enumerate(models)]) == expected


def test_the_gpus_its_containers_hold_are_counted_by_model_too() -> None:
    gpus = [Gpu(index=i, memory_mib=1, model=m, uuid=str(i)) for i, m in enumerate(["L4", "A10", "L4", "L4"])]
    assert gpu_summary(gpus, held=[0, 3]) == "A10 x 1, L4 x 3 (2 held)"
    assert gpu_summary(gpus, held=[1]) == "A10 x 1 (1 held), L4 x 3"


@pytest.mark.parametrize(("mib", "expected"), [(512, "512 MiB"), (1024, "1.0 GiB"), (16384 + 512, "16.5 GiB")])
def test_memory_is_in_gib_from_one_gib(mib: int, expected: str) -> None:
    assert memory(mib) == expected
