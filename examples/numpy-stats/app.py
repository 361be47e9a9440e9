"""Summary statistics with numpy, installed by the agent from `requirements` in `skiff.toml`."""

from __future__ import annotations

from typing import Any

STATE: dict[str, Any] = {}


def load() -> None:
    """The setup hook: runs once per container, before its first call."""
    import numpy

    STATE["numpy"] = numpy
    STATE["calls"] = 0  # calls served by this container


def stats(values: list[float]) -> dict[str, Any]:
    if not values:
        raise ValueError("values is empty: pass at least one number")
    np = STATE["numpy"]
    STATE["calls"] += 1
    data = np.asarray(values, dtype=float)
    print(f"summarising {data.size} values with numpy {np.__version__}")
    return {
        "count": int(data.size),
        "mean": float(data.mean()),
        "std": float(data.std()),
        "min": float(data.min()),
        "max": float(data.max()),
        "numpy": np.__version__,
        "container_calls": STATE["calls"],
    }
