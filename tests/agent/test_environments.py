"""A node's environment cache remembers a failed build for a while (agent.environments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.environments import EnvironmentCache, EnvironmentUnavailable

MISSING = "skiff-no-such-package==1.0"


async def test_a_failed_build_fails_again_at_once_until_its_memory_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "empty-index").as_uri())  # pip fails without the network
    (tmp_path / "empty-index").mkdir()
    cache = EnvironmentCache(tmp_path / "environments", {})
    image = {"requirements": [MISSING]}

    with pytest.raises(EnvironmentUnavailable) as first:
        await cache.get("key-1", image)
    assert "No matching distribution found for skiff-no-such-package" in first.value.build_log  # pip ran

    with pytest.raises(EnvironmentUnavailable) as again:
        await cache.get("key-1", image)
    assert again.value.build_log == ""  # no second build
    assert "No matching distribution found" in str(again.value) and "failed on this node" in str(again.value)

    cache.remember_failures_seconds = 0  # the memory has run out: pip runs again
    with pytest.raises(EnvironmentUnavailable) as later:
        await cache.get("key-1", image)
    assert "No matching distribution found" in later.value.build_log
