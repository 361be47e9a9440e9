"""Resident memory of long-running processes, sampled while traffic runs, and whether it stays flat.

A leak shows as memory that grows with the work done, so growth is judged per 1,000 calls served
between a window after warm-up and a window at the end. Each window's median, not one sample,
stands for it: a sample taken while a burst is in flight says more about the burst than the process.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def rss_mib(pid: int) -> float:
    """VmRSS of one process (itself, not its children)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"process {pid} reports no VmRSS (a zombie?)")


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds
    calls: int  # calls acknowledged so far
    rss: dict[str, float]  # MiB by process name


@dataclass(frozen=True)
class Growth:
    name: str
    before_mib: float
    after_mib: float
    calls: int

    @property
    def mib(self) -> float:
        return self.after_mib - self.before_mib

    def allowed_mib(self, slack_mib: float, per_1000_calls_mib: float) -> float:
        return slack_mib + per_1000_calls_mib * self.calls / 1000

    def __str__(self) -> str:
        return f"{self.name}: {self.before_mib:.1f} → {self.after_mib:.1f} MiB over {self.calls} calls"


@dataclass
class MemorySampler:
    """Samples every `interval` seconds in a thread of its own until stopped."""

    pids: dict[str, int]
    calls: Callable[[], int]
    interval: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a process that vanished ends the sampling
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = {name: rss_mib(pid) for name, pid in self.pids.items()}
            except (OSError, AssertionError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return
            self.samples.append(Sample(time.monotonic(), self.calls(), rss))
            self._stop.wait(self.interval)

    def growth(self, warmed_up_at: float, window_s: float) -> list[Growth]:
        """Per process, from the window that starts at `warmed_up_at` to the last `window_s` seconds."""
        end = self.samples[-1].at
        before = [s for s in self.samples if warmed_up_at <= s.at < warmed_up_at + window_s]
        after = [s for s in self.samples if s.at > end - window_s]
        assert before and after and before[-1].at < after[0].at, (
            f"the windows overlap or are empty: {len(self.samples)} samples, warmed up at {warmed_up_at:.0f}"
        )
        calls = int(statistics.median(s.calls for s in after) - statistics.median(s.calls for s in before))
        return [
            Growth(
                name,
                statistics.median(s.rss[name] for s in before),
                statistics.median(s.rss[name] for s in after),
                calls,
            )
            for name in self.pids
        ]
