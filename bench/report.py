"""What every bench reports besides its figures: the machine and code it ran on, percentiles, and a
figure measured once per run shown as its median and spread over the runs.

Standard library only: the peers' scripts import it from venvs of their own.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_1m_at_start": f"{os.getloadavg()[0]:.2f}",
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    described = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--exclude", "*"],
        capture_output=True,
        text=True,
        check=False,
    )
    return described.stdout.strip() or os.environ.get("SKIFF_BENCH_CODE", "unknown")


@dataclass
class Runs:
    """One figure, one value per run: its median and its spread (lowest to highest) across the runs."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def text(self, digits: int = 0) -> str:
        """`1,234 (1,100 to 1,300)`: the median, then the lowest and highest run; the median alone for one run."""
        median = f"{self.median:,.{digits}f}"
        if len(self.values) < 2:
            return median
        return f"{median} ({min(self.values):,.{digits}f} to {max(self.values):,.{digits}f})"

    def summary(self) -> dict[str, Any]:
        return {"median": self.median, "min": min(self.values), "max": max(self.values), "runs": self.values}


class Header:
    """The command, date, code and machine of a bench run, noted at its start (the load average then
    says how busy others kept the machine) and printed above its tables."""

    def __init__(self) -> None:
        self.command = shlex.join(sys.orig_argv)
        self.started = datetime.now(UTC)
        self.host = machine()

    def text(self) -> str:
        host = self.host
        return (
            f"Command: `{self.command}`  \n"
            f"Date: {self.started:%Y-%m-%d %H:%M} UTC, code {host['code']}  \n"
            f"Machine: {host['cpu']}, {host['cores']} cores, kernel {host['kernel']}, Python {host['python']}, "
            f"1-min load average {host['load_average_1m_at_start']} before the run, {os.getloadavg()[0]:.2f} after\n"
        )

    def document(self, **fields: Any) -> dict[str, Any]:
        """What a bench writes with --json: these fields under the command, date and machine."""
        return {"command": self.command, "date": self.started.isoformat(), "machine": self.host, **fields}


def write_json(path: Path | None, document: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2))


def table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    """A markdown table; columns from `numeric_from` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
